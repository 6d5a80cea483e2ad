-- marts.rfm: Recency, Frequency, Monetary quintile scores at each month end (the running month as
-- of the latest order day), for the last marts.rfm_months months: movement between snapshots is
-- how customers travel between segments.
--   recency_days = as_of - last counted order day; frequency = counted orders; monetary = net revenue.
--   score = 1 + floor(5 * (rank - 1) / (n - 1)), capped at 5, ranking worst to best within the
--   snapshot (ties share a score; a quintile boundary falls at rank-1 = (n-1)/5 * k).
--   segment = marts.rfm_segment_map(R, FM) with FM = round((F + M) / 2), e.g. R5 FM5 Champions,
--   R1 FM1 Lost, R1 FM5 Cannot Lose Them (the usual 11 names; the full grid is in migration 050).
-- A snapshot depends only on the counted orders up to its as_of and on the segment map: their
-- fingerprint is kept in marts.rfm_snapshots, and a snapshot whose fingerprint is unchanged is kept
-- as it is. A daily refresh therefore recomputes the running month only; closed months stay.

CREATE TEMP TABLE rfm_wanted ON COMMIT DROP AS
WITH bounds AS (
    SELECT max(order_date) AS last_day FROM core.orders
), snapshots AS (
    SELECT m::date AS month, least((m + interval '1 month - 1 day')::date, b.last_day) AS as_of
    FROM bounds b,
         generate_series(date_trunc('month', b.last_day)
                             - make_interval(months => current_setting('marts.rfm_months')::int - 1),
                         date_trunc('month', b.last_day), interval '1 month') AS m
    WHERE b.last_day IS NOT NULL
), months AS MATERIALIZED (   -- order-independent fingerprint of each month's counted orders
    SELECT order_date - extract(day FROM order_date)::int + 1 AS month, count(*) AS n,
           sum(hashtextextended(customer_id || '|' || order_date || '|' || net_revenue, 0)::numeric) AS h
    FROM core.orders
    WHERE customer_id IS NOT NULL AND is_counted
    GROUP BY 1
), segment_map AS (
    SELECT md5(string_agg(r || ':' || fm || ':' || segment, ',' ORDER BY r, fm)) AS h FROM marts.rfm_segment_map
)
SELECT s.month, s.as_of, concat_ws(':', s.as_of, c.n, c.h, segment_map.h) AS inputs
FROM snapshots s
CROSS JOIN segment_map
CROSS JOIN LATERAL (SELECT coalesce(sum(n), 0) AS n, coalesce(sum(h), 0) AS h
                    FROM months WHERE months.month <= s.month) c;

CREATE TEMP TABLE rfm_todo ON COMMIT DROP AS
SELECT w.* FROM rfm_wanted w
WHERE NOT EXISTS (SELECT 1 FROM marts.rfm_snapshots s WHERE s.as_of = w.as_of AND s.inputs = w.inputs);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM rfm_wanted w JOIN marts.rfm_snapshots s USING (as_of, inputs)) THEN
        TRUNCATE marts.rfm;
    ELSE
        DELETE FROM marts.rfm r
        WHERE r.as_of NOT IN (SELECT as_of FROM rfm_wanted) OR r.as_of IN (SELECT as_of FROM rfm_todo);
    END IF;
    -- Millions of rows: building the key once after the load is several times faster than maintaining it.
    IF (SELECT count(*) FROM rfm_todo) > 1 THEN
        ALTER TABLE marts.rfm DROP CONSTRAINT rfm_pkey;
    END IF;
END $$;

-- Each customer's state in the last month they bought in up to a snapshot: one row per customer
-- and month bought in (running totals), matched to the snapshots it stands for. Recency and frequency
-- ranks come from value counts (a few hundred values); monetary needs a sort.
ANALYZE rfm_todo;
CREATE TEMP TABLE rfm_state ON COMMIT DROP AS
WITH customer_months AS (
    SELECT customer_id, month,
           sum(orders) OVER w AS frequency, sum(revenue) OVER w AS monetary, last_day,
           lead(month) OVER (PARTITION BY customer_id ORDER BY month) AS next_month
    FROM (SELECT customer_id COLLATE "C" AS customer_id,   -- byte order: any order will do here
                 month, orders, revenue, last_day
          FROM core.customer_months   -- counted orders per customer and month, kept by core_orders
          WHERE month <= (SELECT max(month) FROM rfm_todo)) m
    WINDOW w AS (PARTITION BY customer_id ORDER BY month)
)
SELECT t.as_of, c.customer_id, t.as_of - c.last_day AS recency_days, c.frequency::int AS frequency, c.monetary
FROM customer_months c
JOIN rfm_todo t ON t.month >= c.month AND (c.next_month IS NULL OR t.month < c.next_month);
ANALYZE rfm_state;
-- The value counts are small: hash joins look them up, where the planner would sort every row for
-- merge joins (several times slower at a million orders). Restored right after the statement.
SELECT set_config('enable_mergejoin', 'off', true);

WITH per_snapshot AS (
    SELECT * FROM rfm_state
), sizes AS (
    SELECT as_of, count(*) AS n FROM per_snapshot GROUP BY as_of
), r_rank AS (    -- rank = 1 + customers strictly worse
    SELECT as_of, recency_days, 1 + coalesce(sum(c) OVER (PARTITION BY as_of ORDER BY recency_days DESC
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS rnk
    FROM (SELECT as_of, recency_days, count(*) AS c FROM per_snapshot GROUP BY 1, 2) h
), f_rank AS (
    SELECT as_of, frequency, 1 + coalesce(sum(c) OVER (PARTITION BY as_of ORDER BY frequency
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS rnk
    FROM (SELECT as_of, frequency, count(*) AS c FROM per_snapshot GROUP BY 1, 2) h
), scored AS MATERIALIZED (
    SELECT p.*,
           least(5, 1 + 5 * (r.rnk - 1) / greatest(z.n - 1, 1))::smallint AS r,
           least(5, 1 + 5 * (f.rnk - 1) / greatest(z.n - 1, 1))::smallint AS f,
           least(5, 1 + 5 * (rank() OVER (PARTITION BY p.as_of ORDER BY p.monetary) - 1)
                          / greatest(z.n - 1, 1))::smallint AS m
    FROM per_snapshot p
    JOIN sizes z USING (as_of)
    JOIN r_rank r USING (as_of, recency_days)
    JOIN f_rank f USING (as_of, frequency)
)
INSERT INTO marts.rfm (as_of, customer_id, recency_days, frequency, monetary, r, f, m, segment)
SELECT s.as_of, s.customer_id, s.recency_days, s.frequency, s.monetary, s.r, s.f, s.m, map.segment
FROM scored s
JOIN marts.rfm_segment_map map ON map.r = s.r AND map.fm = round((s.f + s.m) / 2.0);
SELECT set_config('enable_mergejoin', 'on', true);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'rfm_pkey' AND conrelid = 'marts.rfm'::regclass) THEN
        ALTER TABLE marts.rfm ADD CONSTRAINT rfm_pkey PRIMARY KEY (as_of, customer_id);
    END IF;
END $$;

DELETE FROM marts.rfm_snapshots;
INSERT INTO marts.rfm_snapshots (as_of, inputs) SELECT as_of, inputs FROM rfm_wanted;
