-- Identifiers in core and marts (customer ids, order keys, event ids, identity keys, emails, phones)
-- compare as bytes: COLLATE "C". An id has no language, and byte order lets PostgreSQL sort and
-- index them with abbreviated keys instead of calling the locale's strcoll for every comparison
-- (a million-row rebuild spends much of its time sorting these columns). Under a UTF-8 database
-- whose collation is C.UTF-8 the order is the same (code points); comparing one of these columns
-- with a text of the database's collation uses "C", so equality, joins and IN are unchanged.
-- Names shown to people (campaign, flow, product, segment) keep the database's collation.
--
-- A column's collation cannot change under a view that reads it: the views of core and marts are
-- set aside and created again as they were, in the order they were made. Changing a column's type
-- drops its statistics: the tables are analyzed again, or the next refresh plans without them.
DO $$
DECLARE
    v record;
    col record;
    altered text[] := '{}';
    t text;
BEGIN
    CREATE TEMP TABLE views_set_aside ON COMMIT DROP AS
    SELECT c.oid, c.oid::regclass::text AS name, pg_get_viewdef(c.oid) AS def,
           obj_description(c.oid, 'pg_class') AS comment
    FROM pg_class c
    WHERE c.relkind = 'v' AND c.relnamespace IN ('core'::regnamespace, 'marts'::regnamespace);
    FOR v IN SELECT name FROM views_set_aside ORDER BY oid DESC LOOP
        EXECUTE format('DROP VIEW %s', v.name);
    END LOOP;

    FOR col IN
        SELECT * FROM (VALUES
            ('core.customer_keys', 'key_type'), ('core.customer_keys', 'key_value'),
            ('core.customer_keys', 'customer_id'),
            ('core.customers', 'customer_id'), ('core.customers', 'email'), ('core.customers', 'phone'),
            ('core.customers', 'tiktok_user_id'), ('core.customers', 'website_customer_id'),
            ('core.customers', 'klaviyo_profile_id'), ('core.customers', 'customerio_person_id'),
            ('core.identity_records', 'source'), ('core.identity_records', 'record_id'),
            ('core.identity_records', 'customer_id'),
            ('core.customer_months', 'customer_id'), ('core.customer_totals', 'customer_id'),
            ('core.customer_names', 'customer_id'),
            ('core.orders', 'order_key'), ('core.orders', 'channel'), ('core.orders', 'source_order_id'),
            ('core.orders', 'customer_id'), ('core.orders', 'email'),
            ('core.order_lines', 'order_key'), ('core.order_lines', 'line_id'),
            ('core.order_names', 'order_key'), ('core.order_names', 'customer_id'),
            ('core.email_events', 'platform'), ('core.email_events', 'event_id'),
            ('core.email_events', 'customer_id'), ('core.email_events', 'email'),
            ('marts.attribution', 'order_key'),
            ('marts.rfm_scores', 'customer_id'),
            ('marts.customer_predictions', 'customer_id'),
            ('marts.customer_segment_spans', 'customer_id'),
            ('marts.customer_segment_touched', 'customer_id')
        ) AS c(tbl, name)
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE text COLLATE "C"', col.tbl, col.name);
        altered := altered || col.tbl;
    END LOOP;
    FOR t IN SELECT DISTINCT unnest(altered) LOOP
        EXECUTE format('ANALYZE %s', t);
    END LOOP;

    FOR v IN SELECT * FROM views_set_aside ORDER BY oid LOOP
        EXECUTE format('CREATE VIEW %s AS %s', v.name, v.def);
        IF v.comment IS NOT NULL THEN
            EXECUTE format('COMMENT ON VIEW %s IS %L', v.name, v.comment);
        END IF;
    END LOOP;
END $$;
