-- A JSON null was once accepted for these settings, after which reading the user's settings
-- failed; null is refused now, and the rows it left behind are reset to the default.
UPDATE user_settings SET notification_preferences = '{}'
    WHERE jsonb_typeof(notification_preferences) = 'null';
UPDATE user_settings SET privacy_settings = '{}'
    WHERE jsonb_typeof(privacy_settings) = 'null';
