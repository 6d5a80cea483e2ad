-- Email events belong to the customer their (normalized) email address resolves to.
-- An event id seen twice (a re-sent webhook, an overlapping page) is kept once.
ANALYZE stg_email_events;  -- temporary tables get no statistics otherwise
INSERT INTO core.email_events
SELECT e.platform, e.event_id, e.event_type, e.occurred_at, e.event_date, k.customer_id, e.email,
       e.campaign_id, e.campaign_name, e.flow_id, e.flow_name
FROM stg_email_events e
LEFT JOIN core.customer_keys k ON k.key_type = 'email' AND k.key_value = e.email
ON CONFLICT (platform, event_id) DO NOTHING;
ANALYZE core.email_events;
