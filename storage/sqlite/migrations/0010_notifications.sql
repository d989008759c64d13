-- Grouped notifications: a group per (recipient, base key) generation, the claims that
-- make each actor count once per base, and each recipient's read marker.
CREATE TABLE notification_groups (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    base_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_id INTEGER,
    count INTEGER NOT NULL,
    sample TEXT NOT NULL,  -- JSON [[actor id, ms], ...], newest first
    latest_at INTEGER NOT NULL
);
CREATE INDEX notification_groups_by_time ON notification_groups (user_id, latest_at, id);
CREATE INDEX notification_groups_by_kind ON notification_groups (user_id, kind, latest_at, id);
CREATE INDEX notification_groups_by_base ON notification_groups (user_id, base_key, id);

CREATE TABLE notification_claims (
    user_id INTEGER NOT NULL,
    base_key TEXT NOT NULL,
    actor_id INTEGER NOT NULL,
    group_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (user_id, base_key, actor_id)
) WITHOUT ROWID;
CREATE INDEX notification_claims_by_group ON notification_claims (group_id, at);

CREATE TABLE notification_reads (
    user_id INTEGER PRIMARY KEY,
    read_at INTEGER NOT NULL,
    group_id INTEGER NOT NULL
);
