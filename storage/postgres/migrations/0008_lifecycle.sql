-- The data lifecycle: deleted accounts, what deletions wait for, and data exports; every
-- row on the shard of its owner.
-- NULL: not deleted. Set by deleteAccount; a log-in within the cancel window clears it.
ALTER TABLE users ADD COLUMN IF NOT EXISTS deactivated_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS idx_users_deactivated ON users (deactivated_at)
    WHERE deactivated_at IS NOT NULL;

-- Something deleted (a tweet, an account), kept until due_at and then purged for good.
CREATE TABLE IF NOT EXISTS lifecycle_schedule (
    kind       VARCHAR(16) NOT NULL,   -- 'tweet' | 'account'
    owner_id   BIGINT NOT NULL,        -- the author, or the account itself
    subject_id BIGINT NOT NULL,
    since      TIMESTAMPTZ NOT NULL,   -- deleted at
    due_at     TIMESTAMPTZ NOT NULL,   -- purged from
    PRIMARY KEY (kind, owner_id, subject_id)
);
CREATE INDEX IF NOT EXISTS idx_lifecycle_owned
    ON lifecycle_schedule (kind, owner_id, since, subject_id);
CREATE INDEX IF NOT EXISTS idx_lifecycle_due ON lifecycle_schedule (kind, due_at);

-- Each user's latest data export: one row per user, so one export at a time.
CREATE TABLE IF NOT EXISTS data_exports (
    user_id      BIGINT PRIMARY KEY,
    id           BIGINT NOT NULL,
    status       VARCHAR(16) NOT NULL,  -- pending | ready | failed | expired
    requested_at TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    key          TEXT,
    expires_at   TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_data_exports_expiring ON data_exports (status, expires_at);
