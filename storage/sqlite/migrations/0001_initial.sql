-- Chirp's embedded schema: the original design's tables in one SQLite file.
-- Timestamps are integer UTC milliseconds; booleans are 0/1; sets and lists are JSON text.
-- VARCHAR(n) keeps the design's documented lengths (SQLite does not enforce them).

-- Users (PostgreSQL in the distributed profile) ---------------------------------------

CREATE TABLE users (
    user_id           INTEGER PRIMARY KEY,
    username          VARCHAR(15) NOT NULL,
    email             VARCHAR(255) NOT NULL,
    phone             VARCHAR(20),
    password_hash     VARCHAR(255) NOT NULL,
    display_name      VARCHAR(50) NOT NULL,
    bio               TEXT,
    location          VARCHAR(100),
    website           VARCHAR(255),
    profile_image_url VARCHAR(255),
    banner_image_url  VARCHAR(255),
    verified          BOOLEAN NOT NULL DEFAULT 0,
    protected         BOOLEAN NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    last_login_at     INTEGER
);
-- Unique ignoring case: the claim and the lookup both use NOCASE.
CREATE UNIQUE INDEX idx_users_username ON users (username COLLATE NOCASE);
CREATE UNIQUE INDEX idx_users_email ON users (email COLLATE NOCASE);
CREATE UNIQUE INDEX idx_users_phone ON users (phone);
CREATE INDEX idx_users_created_at ON users (created_at);

CREATE TABLE user_stats (
    user_id         INTEGER PRIMARY KEY REFERENCES users (user_id),
    followers_count INTEGER NOT NULL DEFAULT 0,
    following_count INTEGER NOT NULL DEFAULT 0,
    tweets_count    INTEGER NOT NULL DEFAULT 0,
    likes_count     INTEGER NOT NULL DEFAULT 0,
    lists_count     INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX idx_user_stats_followers_count ON user_stats (followers_count);
CREATE INDEX idx_user_stats_tweets_count ON user_stats (tweets_count);

CREATE TABLE user_settings (
    user_id                  INTEGER PRIMARY KEY REFERENCES users (user_id),
    language                 VARCHAR(10) NOT NULL DEFAULT 'en',
    timezone                 VARCHAR(50) NOT NULL DEFAULT 'UTC',
    private_account          BOOLEAN NOT NULL DEFAULT 0,
    allow_dms_from           VARCHAR(20) NOT NULL DEFAULT 'following',
    notification_preferences TEXT NOT NULL DEFAULT '{}',
    privacy_settings         TEXT NOT NULL DEFAULT '{}',
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);

-- Refresh-token sessions, stored by the token's SHA-256 hash.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idx_sessions_user_id ON sessions (user_id);

-- Tweets (Cassandra in the distributed profile) ---------------------------------------

CREATE TABLE tweets (
    tweet_id            INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL,
    text                TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    reply_to_tweet_id   INTEGER,
    reply_to_user_id    INTEGER,
    retweet_of_tweet_id INTEGER,
    quote_tweet_id      INTEGER,
    media_urls          TEXT NOT NULL DEFAULT '[]',
    hashtags            TEXT NOT NULL DEFAULT '[]',
    mentions            TEXT NOT NULL DEFAULT '[]',
    likes_count         INTEGER NOT NULL DEFAULT 0,
    retweets_count      INTEGER NOT NULL DEFAULT 0,
    replies_count       INTEGER NOT NULL DEFAULT 0,
    views_count         INTEGER NOT NULL DEFAULT 0,
    language            VARCHAR(10),
    source              VARCHAR(100),
    is_deleted          BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX idx_tweets_user_id ON tweets (user_id);
CREATE INDEX idx_tweets_created_at ON tweets (created_at);

-- A retried postTweet with the same key returns the tweet made the first time.
CREATE TABLE tweet_idempotency_keys (
    author_id  INTEGER NOT NULL,
    key        TEXT NOT NULL,
    tweet_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (author_id, key)
) WITHOUT ROWID;

-- Timelines: clustering order (created_at DESC, tweet_id DESC) -------------------------

CREATE TABLE user_timeline (
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    tweet_id   INTEGER NOT NULL,
    author_id  INTEGER NOT NULL,
    PRIMARY KEY (user_id, created_at, tweet_id)
) WITHOUT ROWID;

CREATE TABLE author_timeline (
    author_id  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    tweet_id   INTEGER NOT NULL,
    PRIMARY KEY (author_id, created_at, tweet_id)
) WITHOUT ROWID;

-- Replies to one tweet, keyed by the tweet replied to.
CREATE TABLE reply_timeline (
    tweet_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    reply_id   INTEGER NOT NULL,
    author_id  INTEGER NOT NULL,
    PRIMARY KEY (tweet_id, created_at, reply_id)
) WITHOUT ROWID;

-- Social graph: both directions written together ---------------------------------------

CREATE TABLE followers (
    user_id     INTEGER NOT NULL,
    follower_id INTEGER NOT NULL,
    followed_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, follower_id)
) WITHOUT ROWID;

CREATE TABLE following (
    user_id      INTEGER NOT NULL,
    following_id INTEGER NOT NULL,
    followed_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, following_id)
) WITHOUT ROWID;

-- Engagement ----------------------------------------------------------------------------

CREATE TABLE likes (
    tweet_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    liked_at INTEGER NOT NULL,
    PRIMARY KEY (tweet_id, user_id)
) WITHOUT ROWID;

CREATE TABLE user_likes (
    user_id  INTEGER NOT NULL,
    liked_at INTEGER NOT NULL,
    tweet_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, liked_at, tweet_id)
) WITHOUT ROWID;

CREATE TABLE retweets (
    tweet_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    retweeted_at INTEGER NOT NULL,
    retweet_id   INTEGER NOT NULL,
    PRIMARY KEY (tweet_id, user_id)
) WITHOUT ROWID;

CREATE TABLE user_retweets (
    user_id      INTEGER NOT NULL,
    retweeted_at INTEGER NOT NULL,
    tweet_id     INTEGER NOT NULL,
    retweet_id   INTEGER NOT NULL,
    PRIMARY KEY (user_id, retweeted_at, tweet_id)
) WITHOUT ROWID;

-- Durable job queue (fan-out) -------------------------------------------------------------

CREATE TABLE jobs (
    job_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'reserved', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    consumer    TEXT,
    reserved_at INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX idx_jobs_status ON jobs (status, job_id);
CREATE INDEX idx_jobs_reserved_at ON jobs (status, reserved_at);

-- Search (Elasticsearch in the distributed profile) ---------------------------------------

-- rowid is the tweet id.
CREATE VIRTUAL TABLE search_text USING fts5 (
    text,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE search_documents (
    tweet_id   INTEGER PRIMARY KEY,
    author_id  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    protected  BOOLEAN NOT NULL DEFAULT 0,
    language   VARCHAR(10)
);
CREATE INDEX idx_search_documents_author ON search_documents (author_id, tweet_id);
CREATE INDEX idx_search_documents_created_at ON search_documents (created_at);

-- Hashtags lowercased without '#'; created_at and protected copied for trending.
CREATE TABLE search_hashtags (
    hashtag    TEXT NOT NULL,
    tweet_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    protected  BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (hashtag, tweet_id)
) WITHOUT ROWID;
CREATE INDEX idx_search_hashtags_tweet ON search_hashtags (tweet_id);
CREATE INDEX idx_search_hashtags_created_at ON search_hashtags (created_at, hashtag);
