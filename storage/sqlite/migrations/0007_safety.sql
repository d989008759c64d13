-- Blocks, keyed by the blocker; the index answers the other way round ("who blocks me").
CREATE TABLE blocks (
    user_id    INTEGER NOT NULL,   -- the blocker
    blocked_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
) WITHOUT ROWID;
CREATE INDEX idx_blocks_blocked_id ON blocks (blocked_id, user_id);

-- Mutes and muted words; expires_at NULL lasts until removed. Expired rows are ignored by
-- every read and dropped by the muter's next write of the same kind.
CREATE TABLE mutes (
    user_id    INTEGER NOT NULL,   -- the muter
    muted_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (user_id, muted_id)
) WITHOUT ROWID;

CREATE TABLE muted_words (
    user_id    INTEGER NOT NULL,
    word       TEXT NOT NULL,      -- normalized by the caller (NFC, casefolded)
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (user_id, word)
) WITHOUT ROWID;
