-- core.email_events is rebuilt from every present email platform (core_email_events_from_<source>.sql),
-- staged first so the customer is resolved in the one write to the table.
TRUNCATE core.email_events;
CREATE TEMP TABLE stg_email_events (LIKE core.email_events) ON COMMIT DROP;
