-- core.email_events and core.customer_keys are keyed by (platform, event_id) and (key_type, key_value),
-- whose first columns hold two and six values. Building such a key sorts millions of rows that tie on
-- the first column: the sort's abbreviated keys (the first bytes of the first column) tell nothing
-- apart, and every comparison goes on to the second column in full. With the distinct column first
-- the same key builds in a third to a half of the time (2.83M email events: 1.3 s against 3.2-4.2 s;
-- 726k customer keys: 0.8 s against 1.5 s). Every lookup names both columns, so each is still
-- served by the key; the few reads of one platform or one key type read the table, as they would
-- anyway for that share of it.
ALTER TABLE core.email_events DROP CONSTRAINT email_events_pkey;
ALTER TABLE core.email_events ADD CONSTRAINT email_events_pkey PRIMARY KEY (event_id, platform);
ALTER TABLE core.customer_keys DROP CONSTRAINT customer_keys_pkey;
ALTER TABLE core.customer_keys ADD CONSTRAINT customer_keys_pkey PRIMARY KEY (key_value, key_type);
