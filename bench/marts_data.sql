-- Synthetic raw rows for bench/marts.py, generated inside PostgreSQL.
-- Parameters (set_config): bench.orders, bench.customers, bench.days, bench.payload_items (line items
-- in each TikTok Shop and website order's payload, as a storefront's order JSON carries them; 0: the
-- few fields the marts read). setseed keeps runs comparable.
-- The last day is the day before yesterday: bench/marts.py adds yesterday and today as new days.
SELECT setseed(0.42);

CREATE FUNCTION pg_temp.bench_items(n int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('line_items', jsonb_agg(jsonb_build_object(
               'id', (n::bigint * 7919 + i)::text, 'sku', 'sku' || ((n * i) % 977), 'title', 'Product ' || ((n + i) % 40),
               'variant_title', (ARRAY['30 ml', '50 ml', 'Rose', 'Unscented'])[1 + (n + i) % 4],
               'price', ((n * i) % 100)::text || '.00', 'quantity', 1 + i % 3, 'taxable', true,
               'properties', jsonb_build_array())))
    FROM generate_series(1, current_setting('bench.payload_items')::int) i
    HAVING count(*) > 0
$$;

CREATE TEMP TABLE bench_orders ON COMMIT DROP AS
SELECT n,
       1 + floor(current_setting('bench.customers')::int * power(random(), 1.6))::int AS c,
       current_date - 2 - floor(current_setting('bench.days')::int * power(random(), 0.8))::int AS day,
       random() < 0.42 AS tiktok,
       random() AS r
FROM generate_series(1, current_setting('bench.orders')::int) n;

-- The TikTok Shop tables are partitioned by day (migration 240): one partition per day, as the
-- loader leaves them after loading each day (named as it names them).
DO $$
DECLARE d date;
BEGIN
    FOR d IN SELECT DISTINCT day FROM bench_orders WHERE tiktok LOOP
        EXECUTE format('CREATE TABLE raw.%I PARTITION OF raw.tiktok_shop_orders FOR VALUES FROM (%L) TO (%L)',
                       'tiktok_shop_orders_d' || to_char(d, 'YYYYMMDD'), d, d + 1);
        EXECUTE format('CREATE TABLE raw.%I PARTITION OF raw.tiktok_shop_order_lines FOR VALUES FROM (%L) TO (%L)',
                       'tiktok_shop_order_lines_d' || to_char(d, 'YYYYMMDD'), d, d + 1);
    END LOOP;
END $$;

INSERT INTO raw.tiktok_shop_orders (order_id, status, buyer_user_id, buyer_email, currency, sub_total, shipping_fee,
    seller_discount, platform_discount, tax, total_amount, line_count, created_at, updated_at, paid_at, payload,
    partition_date)
SELECT 'T' || n, CASE WHEN r < 0.04 THEN 'CANCELLED' ELSE 'COMPLETED' END, 'tt' || c,
       CASE WHEN c % 5 = 0 THEN NULL ELSE 'Customer.' || c || '@Example.com ' END, 'USD',
       30 + (n % 70), 0, 0, 0, 0, 30 + (n % 70), 1,
       day + make_interval(secs => (n * 37) % 86400), day + interval '1 day', day + interval '1 minute',
       jsonb_build_object('recipient_address', jsonb_build_object('phone_number', '(415) 5' || lpad((c % 1000000)::text, 6, '0')))
           || coalesce(pg_temp.bench_items(n), '{}'),
       day
FROM bench_orders WHERE tiktok;

INSERT INTO raw.tiktok_shop_order_lines (order_id, line_item_id, sku_id, product_id, product_name, sale_price,
    original_price, seller_discount, platform_discount, currency, display_status, payload, partition_date)
SELECT 'T' || n, 'L1', 'sku' || (n % 40), 'p' || (n % 40), 'Product ' || (n % 40), 30 + (n % 70), 30 + (n % 70), 0, 0,
       'USD', CASE WHEN r < 0.04 THEN 'CANCELLED' ELSE 'COMPLETED' END, '{}', day
FROM bench_orders WHERE tiktok;

INSERT INTO raw.website_orders (order_id, email, created_at, currency, subtotal, discount, shipping, tax, total,
    utm_source, utm_medium, utm_campaign, accepts_marketing, line_count, source, payload, partition_date)
SELECT 'W' || n, 'customer.' || c || '@example.com', day + make_interval(secs => (n * 53) % 86400), 'USD',
       25 + (n % 90), 0, 0, 0, 25 + (n % 90),
       (ARRAY['google', 'klaviyo', 'instagram', NULL])[1 + n % 4], (ARRAY['cpc', 'email', 'social', NULL])[1 + n % 4],
       (ARRAY['spring', 'vip', 'launch', NULL])[1 + n % 4], c % 3 = 0, 1, 'bench',
       CASE WHEN r > 0.98 THEN jsonb_build_object('refunded_amount', (25 + (n % 90))::text) ELSE '{}' END
           || coalesce(pg_temp.bench_items(n), '{}'), day
FROM bench_orders WHERE NOT tiktok;

INSERT INTO raw.website_order_lines (order_id, line_number, sku, product_id, product_name, quantity, unit_price,
    discount, currency, partition_date)
SELECT 'W' || n, 1, 'sku' || (n % 40), 'p' || (n % 40), 'Product ' || (n % 40), 1, 25 + (n % 90), 0, 'USD', day
FROM bench_orders WHERE NOT tiktok;

INSERT INTO raw.customerio_campaigns (kind, object_id, name, payload)
SELECT 'campaign', g, 'Flow ' || g, '{}'::jsonb FROM generate_series(1, 5) g
UNION ALL SELECT 'newsletter', g, 'Newsletter ' || g, '{}'::jsonb FROM generate_series(1, 20) g;

-- Roughly one delivery per order: sent shortly before it, clicked a third of the time.
INSERT INTO raw.customerio_deliveries (delivery_id, customer_id, email, state, campaign_id, newsletter_id,
    created_at, sent_at, delivered_at, opened_at, clicked_at, payload, partition_date)
SELECT 'd' || n, 'cio' || c, 'customer.' || c || '@example.com', 'sent',
       CASE WHEN n % 2 = 0 THEN 1 + n % 5 END, CASE WHEN n % 2 = 1 THEN 1 + n % 20 END,
       t, t, t + interval '1 minute', CASE WHEN n % 2 = 0 THEN t + interval '1 hour' END,
       CASE WHEN n % 3 = 0 THEN t + interval '2 hours' END, '{}', t::date
FROM (SELECT n, c, day - 1 + make_interval(secs => (n * 17) % 86400) AS t FROM bench_orders) d;
