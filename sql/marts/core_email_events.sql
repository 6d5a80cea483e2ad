-- Email events belong to the customer their (normalized) email address resolves to.
UPDATE core.email_events e SET customer_id = k.customer_id
FROM core.customer_keys k
WHERE k.key_type = 'email' AND k.key_value = e.email AND e.customer_id IS DISTINCT FROM k.customer_id;
ANALYZE core.email_events;
