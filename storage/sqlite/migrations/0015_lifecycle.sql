-- The data lifecycle: deleted accounts, what deletions wait for, and data exports.
-- NULL: not deleted. Set by deleteAccount; a log-in within the cancel window clears it.
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;

-- Something deleted (a tweet, an account), kept until due_at and then purged for good.
CREATE TABLE lifecycle_schedule (
    kind       VARCHAR(16) NOT NULL,   -- 'tweet' | 'account'
    owner_id   INTEGER NOT NULL,       -- the author, or the account itself
    subject_id INTEGER NOT NULL,
    since      INTEGER NOT NULL,       -- deleted at (ms)
    due_at     INTEGER NOT NULL,       -- purged from (ms)
    PRIMARY KEY (kind, owner_id, subject_id)
);
-- An owner's deleted things, newest first (me.deletedTweets).
CREATE INDEX idx_lifecycle_owned ON lifecycle_schedule (kind, owner_id, since, subject_id);
-- What is due, soonest first (the purge pass).
CREATE INDEX idx_lifecycle_due ON lifecycle_schedule (kind, due_at);

-- Each user's latest data export: one row per user, so one export at a time.
CREATE TABLE data_exports (
    user_id      INTEGER PRIMARY KEY,
    id           INTEGER NOT NULL,
    status       VARCHAR(16) NOT NULL,  -- pending | ready | failed | expired
    requested_at INTEGER NOT NULL,
    finished_at  INTEGER,
    key          TEXT,
    expires_at   INTEGER
);
CREATE INDEX idx_data_exports_expiring ON data_exports (status, expires_at);
