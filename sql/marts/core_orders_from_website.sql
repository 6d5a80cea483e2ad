-- Website orders. The storefront row has no status column: a payload status of cancelled/voided
-- (or a cancelled_at) cancels the order, a payload refunded_amount / total_refunded is a refund.
CREATE TEMP TABLE stg_orders_website (channel, source_order_id, email, phone, platform_type, platform_id, ordered_at,
                                      order_date, status, is_cancelled, currency, gross_revenue, refunded_amount,
                                      discount_code, utm_source, utm_medium, utm_campaign)
ON COMMIT DROP AS
SELECT 'website', o.order_id,
       core.norm_email(o.email),
       core.e164(p.phone, (SELECT current_setting('marts.default_cc'))),
       'website_customer', p.customer_id,
       o.created_at, o.partition_date,
       coalesce(p.status, 'placed'),
       lower(coalesce(p.status, '')) IN ('cancelled', 'canceled', 'voided') OR coalesce(p.cancelled_at, '') <> '',
       o.currency, o.total,
       coalesce(CASE WHEN p.refunded_amount ~ '^[0-9]+(\.[0-9]+)?$' THEN p.refunded_amount::numeric END, 0),
       o.discount_code, nullif(o.utm_source, ''), nullif(o.utm_medium, ''), nullif(o.utm_campaign, '')
FROM refresh_website_orders o
CROSS JOIN LATERAL core.website_payload(o.payload) p;   -- its fields, read once (migration 248)

INSERT INTO core.order_lines (order_key, line_id, product_id, sku, product_name, quantity, unit_price,
                              discount, line_revenue, is_refunded)
SELECT 'website:' || l.order_id, l.line_number::text, l.product_id, l.sku, l.product_name, l.quantity,
       l.unit_price, l.discount, l.unit_price * l.quantity - l.discount,
       false
FROM refresh_website_order_lines l;
