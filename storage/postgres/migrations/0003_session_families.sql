-- Refresh-token families (OAuth 2.0 Security BCP): every token rotated from one log-in
-- shares its family_id, which access tokens carry as their session id. A rotated token is
-- kept, marked used, until it expires: presenting it again revokes the whole family.
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS family_id BIGINT;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS used_at TIMESTAMPTZ;
-- Tokens issued before families: each is a family of its own.
UPDATE sessions SET family_id = floor(random() * 4611686018427387903)::BIGINT + 1
    WHERE family_id IS NULL;
ALTER TABLE sessions ALTER COLUMN family_id SET NOT NULL;
CREATE INDEX IF NOT EXISTS idx_sessions_family_id ON sessions (family_id);
CREATE INDEX IF NOT EXISTS idx_sessions_expires_at ON sessions (expires_at);

-- Families ended by a log-out or a replayed token, remembered while any of their tokens
-- (refresh or access) could still be presented; placed by the hash of family_id.
CREATE TABLE IF NOT EXISTS revoked_session_families (
    family_id BIGINT PRIMARY KEY,
    revoked_until TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_revoked_session_families_until
    ON revoked_session_families (revoked_until);
