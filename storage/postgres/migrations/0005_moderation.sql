-- Moderation: suspensions, reports of tweets and accounts, the moderators' log and roles.
-- Reports and actions are placed by the hash of owner_id (the account reported, or the
-- reported tweet's author), roles by the hash of user_id: each lives with its user.
ALTER TABLE users ADD COLUMN IF NOT EXISTS suspended_until TIMESTAMPTZ;

-- target_kind sorts in "C" order: the queue's pages are merged across shards in Python,
-- which compares strings by code point.
CREATE TABLE IF NOT EXISTS reports (
    id BIGINT PRIMARY KEY,
    reporter_id BIGINT NOT NULL,
    target_kind VARCHAR(10) COLLATE "C" NOT NULL,   -- 'tweet' | 'user'
    target_id BIGINT NOT NULL,
    owner_id BIGINT NOT NULL,
    reason VARCHAR(20) NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
    resolution VARCHAR(32)                          -- the moderator action that closed it
);
-- One open report per reporter and target; once resolved, the reporter may report again.
CREATE UNIQUE INDEX IF NOT EXISTS idx_reports_open_per_reporter
    ON reports (target_kind, target_id, reporter_id) WHERE resolved_at IS NULL;
-- The open queue: grouped by target, each target's reports oldest first.
CREATE INDEX IF NOT EXISTS idx_reports_open_queue
    ON reports (target_kind, target_id, owner_id, created_at) WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_reports_owner_id ON reports (owner_id);

-- What moderators did, kept for good; read newest (highest id) first.
CREATE TABLE IF NOT EXISTS moderation_actions (
    id BIGINT PRIMARY KEY,
    moderator_id BIGINT NOT NULL,
    action VARCHAR(32) NOT NULL,                    -- dismiss, remove_tweet, suspend, ...
    target_kind VARCHAR(10) COLLATE "C" NOT NULL,
    target_id BIGINT NOT NULL,
    owner_id BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    until TIMESTAMPTZ                               -- the end of a suspension
);
CREATE INDEX IF NOT EXISTS idx_moderation_actions_owner_id ON moderation_actions (owner_id);

CREATE TABLE IF NOT EXISTS user_roles (
    user_id BIGINT NOT NULL,
    role VARCHAR(32) NOT NULL,                      -- 'moderator'
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, role)
);
