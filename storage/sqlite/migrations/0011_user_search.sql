-- People search (an Elasticsearch index in the distributed profile).
-- user_search_text: FTS5 over the display name and the bio, as words Chirp has already
-- folded and split (storage/search_text.py); rowid is the user id. Display names match
-- with a prefix query on their last word (typeahead), bios by whole words.
CREATE VIRTUAL TABLE user_search_text USING fts5 (
    display_name,
    bio,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- What matching the username and ranking need: the lowercased username (a prefix is a
-- range scan of its index), the followers count, and the end of a suspension (ms, 0: none).
CREATE TABLE user_search_documents (
    user_id         INTEGER PRIMARY KEY,
    username        TEXT NOT NULL,
    followers_count INTEGER NOT NULL DEFAULT 0,
    suspended_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_user_search_username ON user_search_documents (username);
