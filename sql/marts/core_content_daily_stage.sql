-- core.content_daily is rebuilt from TikTok content analytics (core_content_daily_from_tiktok_content.sql).
-- A refresh replaces the changed days (scope_days; refresh_tiktok_content_daily: their rows;
-- content_date is the partition day) and logs them for funnel_daily.
DO $$
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        DELETE FROM core.content_daily WHERE content_date IN (SELECT day FROM scope_days);
        INSERT INTO scope_changed SELECT day FROM scope_days;
    ELSE
        TRUNCATE core.content_daily;
    END IF;
END $$;
