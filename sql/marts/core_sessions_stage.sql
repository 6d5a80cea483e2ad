-- core.sessions is rebuilt from GA4 (core_sessions_from_ga4.sql) when it is present. A refresh
-- replaces the changed GA4 days (scope_days; refresh_ga4_traffic_daily: their rows; report_date is
-- the partition day) and logs them for funnel_daily.
DO $$
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        DELETE FROM core.sessions WHERE session_date IN (SELECT day FROM scope_days);
        INSERT INTO scope_changed SELECT day FROM scope_days;
    ELSE
        TRUNCATE core.sessions;
    END IF;
END $$;
