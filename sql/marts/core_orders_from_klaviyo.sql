-- Klaviyo's copy of an order (Placed Order events) is dropped when the storefront that took it is
-- staged here or already in core.orders: same channel (Klaviyo's `source`) and order id. A re-sent order counts once (latest
-- event). Only an order no source knows stays, as channel 'klaviyo'.
INSERT INTO stg_orders (channel, source_order_id, email, phone, platform_type, platform_id, ordered_at,
                        order_date, status, is_cancelled, currency, gross_revenue, refunded_amount,
                        discount_code, utm_source, utm_medium, utm_campaign)
SELECT 'klaviyo', k.order_id, core.norm_email(p.email),
       core.e164(p.phone_number, current_setting('marts.default_cc')),
       'klaviyo_profile', k.profile_id,
       k.placed_at, k.partition_date, 'placed', false, k.currency, k.value, 0,
       k.discount_code, nullif(k.utm_source, ''), nullif(k.utm_medium, ''), nullif(k.utm_campaign, '')
FROM (SELECT DISTINCT ON (order_id) * FROM raw.klaviyo_orders ORDER BY order_id, placed_at DESC, event_id DESC) k
LEFT JOIN raw.klaviyo_profiles p ON p.profile_id = k.profile_id
WHERE NOT EXISTS (SELECT 1 FROM stg_orders s
                  WHERE s.source_order_id = k.order_id
                    AND (k.source IS NULL OR s.channel = k.source))
  -- a refresh stages only the changed days: the storefront orders of the other days are in core.orders
  AND NOT EXISTS (SELECT 1 FROM core.orders c
                  WHERE c.order_key IN (coalesce(k.source, 'tiktok_shop') || ':' || k.order_id,
                                        coalesce(k.source, 'website') || ':' || k.order_id));

INSERT INTO stg_order_lines (order_key, line_id, product_id, sku, product_name, quantity, unit_price,
                             discount, line_revenue, is_refunded)
SELECT 'klaviyo:' || l.order_id, l.line_number::text, l.product_id, l.sku, l.product_name, l.quantity,
       l.item_price, l.discount, l.row_total, false
FROM raw.klaviyo_order_lines l
JOIN (SELECT DISTINCT ON (order_id) order_id, event_id FROM raw.klaviyo_orders
      ORDER BY order_id, placed_at DESC, event_id DESC) k USING (event_id)
WHERE EXISTS (SELECT 1 FROM stg_orders s WHERE s.channel = 'klaviyo' AND s.source_order_id = l.order_id);
