-- core.orders / core.order_lines from the staged sources.
-- customer_id: the same precedence as core.customers (email, then phone, then the platform id).
-- net_revenue: 0 for a cancelled order, gross minus refunds otherwise; is_refunded when nothing is left.
-- customer_order_number counts the customer's orders that are neither cancelled nor fully refunded.
TRUNCATE core.orders, core.order_lines;

INSERT INTO core.orders
SELECT o.channel || ':' || o.source_order_id, o.channel, o.source_order_id,
       coalesce(ke.customer_id, kp.customer_id, ki.customer_id),
       o.email, o.ordered_at, o.order_date, o.status, o.is_cancelled,
       NOT o.is_cancelled AND o.refunded_amount >= o.gross_revenue AND o.gross_revenue > 0,
       o.currency, o.gross_revenue, o.refunded_amount,
       CASE WHEN o.is_cancelled THEN 0 ELSE greatest(o.gross_revenue - o.refunded_amount, 0) END,
       o.discount_code, o.utm_source, o.utm_medium, o.utm_campaign, NULL
FROM stg_orders o
LEFT JOIN core.customer_keys ke ON ke.key_type = 'email' AND ke.key_value = o.email
LEFT JOIN core.customer_keys kp ON kp.key_type = 'phone' AND kp.key_value = o.phone
LEFT JOIN core.customer_keys ki ON ki.key_type = o.platform_type AND ki.key_value = o.platform_id;

UPDATE core.orders o SET customer_order_number = n.rn
FROM (SELECT order_key, row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_key) AS rn
      FROM core.orders
      WHERE customer_id IS NOT NULL AND NOT is_cancelled AND NOT is_refunded) n
WHERE o.order_key = n.order_key;

INSERT INTO core.order_lines SELECT * FROM stg_order_lines;
ANALYZE core.orders;
ANALYZE core.order_lines;
