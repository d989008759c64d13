-- The cold tier: tweets older than the cold threshold live in compressed archives per author
-- and month in the media store (app/archive.py); these rows point at them.
CREATE TABLE archived_tweets (
    tweet_id  INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL,
    month     TEXT NOT NULL           -- YYYY-MM of created_at (UTC)
);

CREATE TABLE archived_months (
    author_id INTEGER NOT NULL,
    month     TEXT NOT NULL,
    PRIMARY KEY (author_id, month)
);

-- An archived tweet keeps a hollow row (no text, media, hashtags or mentions): its counters,
-- its author for the likes listing and its place in its thread stay where the engagement
-- store and conversations read them, as Cassandra keeps counters and threads apart.
ALTER TABLE tweets ADD COLUMN archived BOOLEAN NOT NULL DEFAULT 0;
