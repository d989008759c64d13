-- How many entries each stored home timeline holds, kept exact by triggers, so a push can
-- tell which timelines outgrew their bound without counting rows.
CREATE TABLE home_timeline_sizes (
    user_id INTEGER PRIMARY KEY,
    entries INTEGER NOT NULL
);
INSERT INTO home_timeline_sizes (user_id, entries)
    SELECT user_id, count(*) FROM user_timeline GROUP BY user_id;
CREATE TRIGGER user_timeline_added AFTER INSERT ON user_timeline BEGIN
    INSERT INTO home_timeline_sizes (user_id, entries) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET entries = entries + 1;
END;
CREATE TRIGGER user_timeline_removed AFTER DELETE ON user_timeline BEGIN
    UPDATE home_timeline_sizes SET entries = entries - 1 WHERE user_id = OLD.user_id;
END;
