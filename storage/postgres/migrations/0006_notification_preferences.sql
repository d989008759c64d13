-- notificationPreferences was free-form JSON; it is now one true or false per notification
-- kind (a kind left out is on). Keep what a stored value says about those kinds, as
-- booleans, and drop everything else it holds.
UPDATE user_settings SET notification_preferences = COALESCE(
    (
        SELECT jsonb_object_agg(key, value)
        FROM jsonb_each(
            CASE jsonb_typeof(user_settings.notification_preferences)
                WHEN 'object' THEN user_settings.notification_preferences ELSE '{}'::jsonb END
        )
        WHERE key IN ('mention', 'reply', 'quote', 'like', 'retweet', 'follow', 'follow_request',
                      'follow_request_approved')
          AND jsonb_typeof(value) = 'boolean'
    ),
    '{}'::jsonb
);
