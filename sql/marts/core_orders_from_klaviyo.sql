-- Klaviyo's copy of an order (Placed Order events) is dropped when the storefront that took it is
-- staged here or already in core.orders: same channel (Klaviyo's `source`) and order id. A re-sent order counts once (latest
-- event). Only an order no source knows stays, as channel 'klaviyo'.
-- A refresh stages again only the order ids whose copies or storefront twins changed: the Klaviyo
-- orders and lines of the changed Klaviyo days, the Klaviyo orders of those days already gone
-- (core_orders_stage.sql), and the ids of the storefront orders staged or gone; every Klaviyo
-- order when profiles changed or Klaviyo's orders changed as a whole (scope_whole).
SELECT marts.stage_view('stg_orders');  -- the storefronts' orders staged so far
CREATE TEMP TABLE IF NOT EXISTS klaviyo_ids (order_id text);
TRUNCATE klaviyo_ids;
DO $$
BEGIN
    IF NOT current_setting('marts.incremental')::boolean THEN
        CREATE OR REPLACE TEMP VIEW refresh_klaviyo_orders AS SELECT * FROM raw.klaviyo_orders;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM scope_whole WHERE key = 'klaviyo') THEN
        INSERT INTO klaviyo_ids SELECT order_id FROM raw.klaviyo_orders
        UNION SELECT source_order_id FROM core.orders WHERE channel = 'klaviyo';
    ELSE
        INSERT INTO klaviyo_ids
        SELECT order_id FROM raw.klaviyo_orders
        WHERE partition_date IN (SELECT day FROM scope_days WHERE key = 'klaviyo')
        UNION SELECT order_id FROM raw.klaviyo_order_lines
        WHERE partition_date IN (SELECT day FROM scope_days WHERE key = 'klaviyo')
        UNION SELECT source_order_id FROM stg_orders
        UNION SELECT substr(order_key, strpos(order_key, ':') + 1) FROM orders_gone;
    END IF;
    ANALYZE klaviyo_ids;
    WITH gone AS (
        DELETE FROM core.orders o
        WHERE o.channel = 'klaviyo' AND o.order_key IN (SELECT 'klaviyo:' || order_id FROM klaviyo_ids)
        RETURNING o.order_key, o.customer_id, o.order_date
    )
    INSERT INTO orders_gone SELECT * FROM gone;
    DELETE FROM core.order_lines WHERE order_key IN (SELECT 'klaviyo:' || order_id FROM klaviyo_ids);
    CREATE OR REPLACE TEMP VIEW refresh_klaviyo_orders AS
    SELECT * FROM raw.klaviyo_orders WHERE order_id IN (SELECT order_id FROM klaviyo_ids);
END $$;

CREATE TEMP TABLE stg_orders_klaviyo (channel, source_order_id, email, phone, platform_type, platform_id, ordered_at,
                                      order_date, status, is_cancelled, currency, gross_revenue, refunded_amount,
                                      discount_code, utm_source, utm_medium, utm_campaign)
ON COMMIT DROP AS
SELECT 'klaviyo', k.order_id, core.norm_email(p.email),
       core.e164(p.phone_number, (SELECT current_setting('marts.default_cc'))),
       'klaviyo_profile', k.profile_id,
       k.placed_at, k.partition_date, 'placed', false, k.currency, k.value, 0,
       k.discount_code, nullif(k.utm_source, ''), nullif(k.utm_medium, ''), nullif(k.utm_campaign, '')
FROM (SELECT DISTINCT ON (order_id) * FROM refresh_klaviyo_orders ORDER BY order_id, placed_at DESC, event_id DESC) k
LEFT JOIN raw.klaviyo_profiles p ON p.profile_id = k.profile_id
WHERE NOT EXISTS (SELECT 1 FROM stg_orders s
                  WHERE s.source_order_id = k.order_id
                    AND (k.source IS NULL OR s.channel = k.source))
  -- a refresh stages only the changed days: the storefront orders of the other days are in core.orders
  AND NOT EXISTS (SELECT 1 FROM core.orders c
                  WHERE c.order_key IN (coalesce(k.source, 'tiktok_shop') || ':' || k.order_id,
                                        coalesce(k.source, 'website') || ':' || k.order_id));

INSERT INTO core.order_lines (order_key, line_id, product_id, sku, product_name, quantity, unit_price,
                              discount, line_revenue, is_refunded)
SELECT 'klaviyo:' || l.order_id, l.line_number::text, l.product_id, l.sku, l.product_name, l.quantity,
       l.item_price, l.discount, l.row_total, false
FROM raw.klaviyo_order_lines l
JOIN (SELECT DISTINCT ON (order_id) order_id, event_id FROM refresh_klaviyo_orders
      ORDER BY order_id, placed_at DESC, event_id DESC) k USING (event_id)
WHERE EXISTS (SELECT 1 FROM stg_orders_klaviyo s WHERE s.source_order_id = l.order_id);
