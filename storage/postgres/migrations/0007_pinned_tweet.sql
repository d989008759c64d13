-- The tweet a user pinned to their profile (one of their own, in Cassandra); NULL: none.
ALTER TABLE users ADD COLUMN IF NOT EXISTS pinned_tweet_id BIGINT;
