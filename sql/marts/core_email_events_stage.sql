-- core.email_events is rebuilt from every present email platform (core_email_events_from_<source>.sql).
TRUNCATE core.email_events;
