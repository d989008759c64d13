CREATE DATABASE chirp_shard0;
CREATE DATABASE chirp_shard1;
