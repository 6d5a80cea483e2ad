-- core.customer_names: per customer, the latest first and last name given on any order (each
-- part independently, so an order with only a first name does not erase a known last name).
TRUNCATE core.customer_names;
INSERT INTO core.customer_names (customer_id, first_name, last_name)
SELECT o.customer_id,
       (array_agg(n.first_name ORDER BY o.ordered_at DESC) FILTER (WHERE n.first_name IS NOT NULL))[1],
       (array_agg(n.last_name ORDER BY o.ordered_at DESC) FILTER (WHERE n.last_name IS NOT NULL))[1]
FROM stg_customer_names n
JOIN core.orders o USING (order_key)
WHERE o.customer_id IS NOT NULL
GROUP BY o.customer_id;
