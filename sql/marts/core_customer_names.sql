-- core.customer_names: per customer, the latest first and last name given on any order (each
-- part independently, so an order with only a first name does not erase a known last name).
-- The staged names' orders (core_customer_names_stage.sql) are stored with their customer, then
-- the names of every customer (a full rebuild) or of the customers touched (a refresh) computed.
ANALYZE stg_customer_names;  -- temporary tables get no statistics otherwise

WITH added AS (
    INSERT INTO core.order_names (order_key, order_date, customer_id, ordered_at, first_name, last_name)
    SELECT o.order_key, o.order_date, o.customer_id, o.ordered_at, n.first_name, n.last_name
    FROM stg_customer_names n
    JOIN core.orders o USING (order_key)
    WHERE o.customer_id IS NOT NULL
    RETURNING customer_id
)
INSERT INTO names_customers SELECT customer_id FROM added WHERE current_setting('marts.incremental')::boolean;
ANALYZE names_customers;
DO $$
BEGIN
    IF NOT current_setting('marts.incremental')::boolean THEN
        PERFORM marts.restore_indexes('core.order_names');
        ANALYZE core.order_names;
    END IF;
END $$;

DELETE FROM core.customer_names
WHERE current_setting('marts.incremental')::boolean AND customer_id IN (SELECT customer_id FROM names_customers);

-- The order key breaks ties between orders placed at the same moment, so every rebuild agrees.
INSERT INTO core.customer_names (customer_id, first_name, last_name)
SELECT customer_id,
       (array_agg(first_name ORDER BY ordered_at DESC, order_key DESC) FILTER (WHERE first_name IS NOT NULL))[1],
       (array_agg(last_name ORDER BY ordered_at DESC, order_key DESC) FILTER (WHERE last_name IS NOT NULL))[1]
FROM core.order_names
WHERE NOT current_setting('marts.incremental')::boolean
GROUP BY customer_id;

INSERT INTO core.customer_names (customer_id, first_name, last_name)
SELECT customer_id,
       (array_agg(first_name ORDER BY ordered_at DESC, order_key DESC) FILTER (WHERE first_name IS NOT NULL))[1],
       (array_agg(last_name ORDER BY ordered_at DESC, order_key DESC) FILTER (WHERE last_name IS NOT NULL))[1]
FROM core.order_names
WHERE current_setting('marts.incremental')::boolean AND customer_id IN (SELECT customer_id FROM names_customers)
GROUP BY customer_id;
