-- Engagement lists, bookmarks and pinned tweets.

-- Who liked or retweeted a tweet, newest first: the likes and retweets tables already hold
-- the time; these indexes read a page in (time, user) order without sorting.
CREATE INDEX idx_likes_newest ON likes (tweet_id, liked_at, user_id);
CREATE INDEX idx_retweets_newest ON retweets (tweet_id, retweeted_at, user_id);

-- The tweets quoting a tweet, keyed by the tweet quoted (as reply_timeline is by the tweet
-- replied to); written with the quote's other timelines, removed when it is deleted.
CREATE TABLE quote_timeline (
    tweet_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    quote_id   INTEGER NOT NULL,
    author_id  INTEGER NOT NULL,
    PRIMARY KEY (tweet_id, created_at, quote_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO quote_timeline (tweet_id, created_at, quote_id, author_id)
SELECT quote_tweet_id, created_at, tweet_id, user_id FROM tweets
WHERE quote_tweet_id IS NOT NULL AND is_deleted = 0;

-- Bookmarks: private to their owner. One row per (user, tweet); read newest first.
CREATE TABLE bookmarks (
    user_id       INTEGER NOT NULL,
    tweet_id      INTEGER NOT NULL,
    author_id     INTEGER NOT NULL,
    bookmarked_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, tweet_id)
) WITHOUT ROWID;
CREATE INDEX idx_bookmarks_newest ON bookmarks (user_id, bookmarked_at, tweet_id);

-- The tweet a user pinned to their profile (one of their own); NULL: none.
ALTER TABLE users ADD COLUMN pinned_tweet_id INTEGER;
