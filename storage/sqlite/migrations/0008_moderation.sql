-- Moderation: suspensions, reports of tweets and accounts, the moderators' log and roles.
-- A suspension hides nothing by itself and deletes nothing; NULL is not suspended.
ALTER TABLE users ADD COLUMN suspended_until INTEGER;

-- Reports of a target (a tweet or an account) whose owner is the account reported or the
-- tweet's author. A report stays open until a moderator resolves its target.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    reporter_id INTEGER NOT NULL,
    target_kind VARCHAR(10) NOT NULL,   -- 'tweet' | 'user'
    target_id   INTEGER NOT NULL,
    owner_id    INTEGER NOT NULL,
    reason      VARCHAR(20) NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    resolution  VARCHAR(32)             -- the moderator action that closed it
);
-- One open report per reporter and target; once resolved, the reporter may report again.
CREATE UNIQUE INDEX idx_reports_open_per_reporter
    ON reports (target_kind, target_id, reporter_id) WHERE resolved_at IS NULL;
-- The open queue: grouped by target, each target's reports oldest first.
CREATE INDEX idx_reports_open_queue
    ON reports (target_kind, target_id, owner_id, created_at) WHERE resolved_at IS NULL;

-- What moderators did, kept for good; read newest (highest id) first.
CREATE TABLE moderation_actions (
    id           INTEGER PRIMARY KEY,
    moderator_id INTEGER NOT NULL,
    action       VARCHAR(32) NOT NULL,  -- dismiss, remove_tweet, suspend, unsuspend
    target_kind  VARCHAR(10) NOT NULL,
    target_id    INTEGER NOT NULL,
    owner_id     INTEGER NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    until        INTEGER                -- the end of a suspension
);

CREATE TABLE user_roles (
    user_id    INTEGER NOT NULL,
    role       VARCHAR(32) NOT NULL,    -- 'moderator'
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, role)
) WITHOUT ROWID;
