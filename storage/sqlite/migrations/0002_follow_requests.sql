-- Pending follow requests to protected accounts, keyed like `followers` (by the followee).
CREATE TABLE follow_requests (
    user_id INTEGER NOT NULL,       -- the protected account asked
    follower_id INTEGER NOT NULL,   -- who asked
    requested_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, follower_id)
) WITHOUT ROWID;
