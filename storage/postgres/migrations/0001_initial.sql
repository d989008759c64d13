-- Applied to every physical shard. Rows are placed by the hash of their key onto one of 100
-- logical shards (storage/sharding.py) and the shard map puts logical shards on physical
-- ones. UNIQUE(username) holds within one database only, so uniqueness across shards comes
-- from the directory tables, claimed before a user row is written (DESIGN.md).
CREATE TABLE IF NOT EXISTS users (
    user_id BIGINT PRIMARY KEY,
    username VARCHAR(15) NOT NULL,
    email VARCHAR(255) NOT NULL,
    phone VARCHAR(20),
    password_hash VARCHAR(255) NOT NULL,
    display_name VARCHAR(50) NOT NULL,
    bio TEXT,
    location VARCHAR(100),
    website VARCHAR(255),
    profile_image_url VARCHAR(255),
    banner_image_url VARCHAR(255),
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    protected BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_login_at TIMESTAMPTZ
);
-- Within a shard, a second line of defence behind the directories.
CREATE UNIQUE INDEX IF NOT EXISTS idx_users_username ON users (lower(username));
CREATE UNIQUE INDEX IF NOT EXISTS idx_users_email ON users (lower(email));
CREATE INDEX IF NOT EXISTS idx_users_created_at ON users (created_at);

CREATE TABLE IF NOT EXISTS user_stats (
    user_id BIGINT PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
    followers_count INT NOT NULL DEFAULT 0,
    following_count INT NOT NULL DEFAULT 0,
    tweets_count INT NOT NULL DEFAULT 0,
    likes_count INT NOT NULL DEFAULT 0,
    lists_count INT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_user_stats_followers_count ON user_stats (followers_count);
CREATE INDEX IF NOT EXISTS idx_user_stats_tweets_count ON user_stats (tweets_count);

CREATE TABLE IF NOT EXISTS user_settings (
    user_id BIGINT PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
    language VARCHAR(10) NOT NULL DEFAULT 'en',
    timezone VARCHAR(50) NOT NULL DEFAULT 'UTC',
    private_account BOOLEAN NOT NULL DEFAULT FALSE,
    allow_dms_from VARCHAR(20) NOT NULL DEFAULT 'following',
    notification_preferences JSONB NOT NULL DEFAULT '{}',
    privacy_settings JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- Directory rows: a name (lowercased) -> the user claiming it, on the name's own shard.
CREATE TABLE IF NOT EXISTS claims (
    kind VARCHAR(10) NOT NULL,          -- 'username' | 'email' | 'phone'
    claim VARCHAR(255) NOT NULL,
    user_id BIGINT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (kind, claim)
);

-- Refresh-token sessions, placed by the hash of the token (take() knows only that).
CREATE TABLE IF NOT EXISTS sessions (
    token_hash CHAR(64) PRIMARY KEY,
    user_id BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_sessions_user_id ON sessions (user_id);

-- Read from the first physical shard only: logical shard -> physical shard index.
CREATE TABLE IF NOT EXISTS shard_map (
    logical_shard INT PRIMARY KEY,
    physical_shard INT NOT NULL
);
