-- The customer of each staged record or order, by the match rule of core.customers: the customer of
-- its email, else of its phone, else of its platform id (sql/marts/core_customers.sql explains the
-- rule). Written once, here, for its two readers: core_customers.sql (identity records) and
-- core_orders.sql (orders). <name> becomes a temporary view of every row of the temporary table or
-- view <staged> (which has the columns email, phone, platform_type and platform_id) with its
-- customer_id. Most rows have an email: the phone and the platform id are looked up by key only for
-- those the email leaves unresolved (coalesce stops at the first), not joined for every row.
CREATE FUNCTION marts.resolved_view(name text, staged text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($view$
        CREATE OR REPLACE TEMP VIEW %I AS
        SELECT s.*,
               coalesce(ke.customer_id,
                        (SELECT k.customer_id FROM core.customer_keys k
                         WHERE k.key_type = 'phone' AND k.key_value = s.phone),
                        (SELECT k.customer_id FROM core.customer_keys k
                         WHERE k.key_type = s.platform_type AND k.key_value = s.platform_id)) AS customer_id
        FROM pg_temp.%I s
        LEFT JOIN core.customer_keys ke ON ke.key_type = 'email' AND ke.key_value = s.email
    $view$, name, staged);
END $$;
