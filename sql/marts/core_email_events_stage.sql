-- core.email_events is rebuilt from every present email platform (core_email_events_from_<source>.sql),
-- each resolving the customer in its one write to the table. Millions of rows: the table is filled
-- without its key and index, which are built once afterwards (core_email_events.sql), several times
-- faster than maintaining them row by row.
TRUNCATE core.email_events;
ALTER TABLE core.email_events DROP CONSTRAINT email_events_pkey;
DROP INDEX core.email_events_customer_idx;
