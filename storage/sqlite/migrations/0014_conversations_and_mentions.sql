-- Conversations: each tweet keeps the root of its thread, so a thread is one indexed read.
-- Tweets stored before this get theirs from their chain of replies (an original is its own
-- root; a retweet has none).
ALTER TABLE tweets ADD COLUMN conversation_id INTEGER;

WITH RECURSIVE roots (tweet_id, root_id) AS (
    SELECT tweet_id, tweet_id FROM tweets
    WHERE reply_to_tweet_id IS NULL AND retweet_of_tweet_id IS NULL
    UNION ALL
    SELECT t.tweet_id, r.root_id FROM tweets t JOIN roots r ON t.reply_to_tweet_id = r.tweet_id
)
UPDATE tweets SET conversation_id = (SELECT root_id FROM roots WHERE roots.tweet_id = tweets.tweet_id);

CREATE INDEX idx_tweets_conversation ON tweets (conversation_id, tweet_id)
    WHERE conversation_id IS NOT NULL;

-- Tweets that mention a user, newest first (written with the author's timeline).
CREATE TABLE mention_timeline (
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    tweet_id   INTEGER NOT NULL,
    author_id  INTEGER NOT NULL,
    PRIMARY KEY (user_id, created_at, tweet_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO mention_timeline (user_id, created_at, tweet_id, author_id)
SELECT m.value, t.created_at, t.tweet_id, t.user_id
FROM tweets t, json_each(t.mentions) m
WHERE t.is_deleted = 0 AND m.value != t.user_id;
