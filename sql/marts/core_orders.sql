-- core.orders / core.order_lines from the staged sources.
-- customer_id: the same precedence as core.customers (email, then phone, then the platform id).
-- net_revenue: 0 for a cancelled order, gross minus refunds otherwise; is_refunded when nothing is left.
-- customer_order_number counts the customer's orders that are neither cancelled nor fully refunded.
TRUNCATE core.orders, core.order_lines;
-- Filled without keys and indexes, which are built once afterwards: several times faster than
-- maintaining them row by row in a freshly emptied table.
ALTER TABLE core.orders DROP CONSTRAINT orders_pkey;
DROP INDEX core.orders_date_idx, core.orders_customer_idx;
ALTER TABLE core.order_lines DROP CONSTRAINT order_lines_pkey;
ANALYZE stg_orders;  -- temporary tables get no statistics otherwise

WITH resolved AS (
    SELECT o.*, coalesce(ke.customer_id, kp.customer_id, ki.customer_id) AS customer_id,
           NOT o.is_cancelled AND o.refunded_amount >= o.gross_revenue AND o.gross_revenue > 0 AS is_refunded
    FROM stg_orders o
    LEFT JOIN core.customer_keys ke ON ke.key_type = 'email' AND ke.key_value = o.email
    LEFT JOIN core.customer_keys kp ON kp.key_type = 'phone' AND kp.key_value = o.phone
    LEFT JOIN core.customer_keys ki ON ki.key_type = o.platform_type AND ki.key_value = o.platform_id
)
INSERT INTO core.orders (order_key, channel, source_order_id, customer_id, email, ordered_at, order_date,
                         status, is_cancelled, is_refunded, currency, gross_revenue, refunded_amount,
                         net_revenue, discount_code, utm_source, utm_medium, utm_campaign,
                         customer_order_number)
SELECT channel || ':' || source_order_id, channel, source_order_id, customer_id,
       email, ordered_at, order_date, status, is_cancelled, is_refunded,
       currency, gross_revenue, refunded_amount,
       CASE WHEN is_cancelled THEN 0 ELSE greatest(gross_revenue - refunded_amount, 0) END,
       discount_code, utm_source, utm_medium, utm_campaign,
       CASE WHEN customer_id IS NOT NULL AND NOT is_cancelled AND NOT is_refunded
            THEN row_number() OVER (PARTITION BY customer_id COLLATE "C", (is_cancelled OR is_refunded)
                                    ORDER BY ordered_at, channel, source_order_id) END
FROM resolved;

INSERT INTO core.order_lines (order_key, line_id, product_id, sku, product_name, quantity, unit_price,
                              discount, line_revenue, is_refunded)
SELECT * FROM stg_order_lines;
ALTER TABLE core.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (order_key);
CREATE INDEX orders_date_idx ON core.orders (order_date);
CREATE INDEX orders_customer_idx ON core.orders (customer_id, ordered_at);
ALTER TABLE core.order_lines ADD CONSTRAINT order_lines_pkey PRIMARY KEY (order_key, line_id);
ANALYZE core.orders;
ANALYZE core.order_lines;
