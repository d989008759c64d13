-- Refresh-token families (OAuth 2.0 Security BCP): every token rotated from one log-in
-- shares its family_id, which access tokens carry as their session id. A rotated token is
-- kept, marked used, until it expires: presenting it again revokes the whole family.
ALTER TABLE sessions ADD COLUMN family_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN used_at INTEGER;
-- Tokens issued before families: each is a family of its own.
UPDATE sessions SET family_id = (random() & 4611686018427387903) + 1;
CREATE INDEX idx_sessions_family_id ON sessions (family_id);
CREATE INDEX idx_sessions_expires_at ON sessions (expires_at);

-- Families ended by a log-out or a replayed token, remembered while any of their tokens
-- (refresh or access) could still be presented.
CREATE TABLE revoked_session_families (
    family_id     INTEGER PRIMARY KEY,
    revoked_until INTEGER NOT NULL
);
CREATE INDEX idx_revoked_session_families_until ON revoked_session_families (revoked_until);
