-- The key and the attribution index, built once over the filled table.
ALTER TABLE core.email_events ADD CONSTRAINT email_events_pkey PRIMARY KEY (platform, event_id);
CREATE INDEX email_events_customer_idx ON core.email_events (customer_id, occurred_at)
    WHERE event_type IN ('click', 'open');
ANALYZE core.email_events;
