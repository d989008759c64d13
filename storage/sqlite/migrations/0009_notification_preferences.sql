-- notificationPreferences was free-form JSON; it is now one true or false per notification
-- kind (a kind left out is on). Keep what a stored value says about those kinds, as
-- booleans, and drop everything else it holds.
UPDATE user_settings SET notification_preferences = (
    SELECT COALESCE(json_group_object(key, json(type)), '{}')
    FROM json_each(
        CASE json_type(user_settings.notification_preferences)
            WHEN 'object' THEN user_settings.notification_preferences ELSE '{}' END
    )
    WHERE key IN ('mention', 'reply', 'quote', 'like', 'retweet', 'follow', 'follow_request',
                  'follow_request_approved')
      AND type IN ('true', 'false')
);
