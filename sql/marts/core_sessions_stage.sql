-- core.sessions is rebuilt from GA4 (core_sessions_from_ga4.sql) when it is present.
TRUNCATE core.sessions;
