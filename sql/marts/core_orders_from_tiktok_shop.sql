-- TikTok Shop orders. CANCELLED orders count as cancelled; a line cancelled inside a live order
-- (display_status CANCELLED) is a partial refund of its sale price. The recipient phone and the
-- TikTok user id are kept for identity resolution.
CREATE TEMP TABLE stg_orders_tiktok_shop (channel, source_order_id, email, phone, platform_type, platform_id, ordered_at,
                                          order_date, status, is_cancelled, currency, gross_revenue, refunded_amount,
                                          discount_code, utm_source, utm_medium, utm_campaign)
ON COMMIT DROP AS
SELECT 'tiktok_shop', o.order_id,
       core.norm_email(o.buyer_email),
       core.e164(o.payload #>> '{recipient_address,phone_number}', (SELECT current_setting('marts.default_cc'))),
       'tiktok_user', o.buyer_user_id,
       o.created_at, o.partition_date, o.status, o.status = 'CANCELLED', o.currency, o.total_amount,
       CASE WHEN o.status = 'CANCELLED' THEN 0 ELSE coalesce(c.cancelled, 0) END,
       NULL, 'tiktok', 'shop', NULL
FROM refresh_tiktok_shop_orders o
LEFT JOIN (SELECT order_id, sum(sale_price) AS cancelled
           FROM refresh_tiktok_shop_order_lines WHERE display_status = 'CANCELLED'
           GROUP BY order_id) c USING (order_id);

-- One TikTok line per unit sold.
INSERT INTO core.order_lines (order_key, line_id, product_id, sku, product_name, quantity, unit_price,
                              discount, line_revenue, is_refunded)
SELECT 'tiktok_shop:' || l.order_id, l.line_item_id, l.product_id, l.sku_id, l.product_name, 1,
       l.original_price, l.seller_discount + l.platform_discount, l.sale_price,
       coalesce(l.display_status = 'CANCELLED', false)
FROM refresh_tiktok_shop_order_lines l;
