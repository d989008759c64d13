-- Bumped by every change of the shard map, so running adapters notice and reload it.
CREATE TABLE IF NOT EXISTS shard_map_version (
    id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    version BIGINT NOT NULL
);
INSERT INTO shard_map_version (id, version) VALUES (TRUE, 1) ON CONFLICT (id) DO NOTHING;
