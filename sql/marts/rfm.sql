-- marts.rfm: Recency, Frequency, Monetary quintile scores at each month end (the running month as
-- of the latest order day), for the last marts.rfm_months months: movement between snapshots is
-- how customers travel between segments.
--   recency_days = as_of - last counted order day; frequency = counted orders; monetary = net revenue.
--   score = 1 + floor(5 * (rank - 1) / (n - 1)), capped at 5, ranking worst to best within the
--   snapshot (ties share a score; a quintile boundary falls at rank-1 = (n-1)/5 * k).
--   segment = marts.rfm_segment_map(R, FM) with FM = round((F + M) / 2), e.g. R5 FM5 Champions,
--   R1 FM1 Lost, R1 FM5 Cannot Lose Them (the usual 11 names; the full grid is in migration 050).
TRUNCATE marts.rfm;
-- Millions of rows: building the key once after the load is several times faster than maintaining it.
ALTER TABLE marts.rfm DROP CONSTRAINT rfm_pkey;

WITH bounds AS (
    SELECT max(order_date) AS last_day FROM core.orders
), snapshots AS (
    SELECT least((m + interval '1 month - 1 day')::date, b.last_day) AS as_of
    FROM bounds b,
         generate_series(date_trunc('month', b.last_day)
                             - make_interval(months => current_setting('marts.rfm_months')::int - 1),
                         date_trunc('month', b.last_day), interval '1 month') AS m
    WHERE b.last_day IS NOT NULL
), customer_months AS (   -- per customer and month: running totals up to that month, and when they next buy
    SELECT customer_id, month,
           sum(orders) OVER w AS frequency, sum(revenue) OVER w AS monetary, last_day,
           lead(month) OVER (PARTITION BY customer_id ORDER BY month) AS next_month
    FROM (SELECT customer_id, date_trunc('month', order_date)::date AS month, count(*) AS orders,
                 sum(net_revenue) AS revenue, max(order_date) AS last_day
          FROM core.orders
          WHERE customer_id IS NOT NULL AND NOT is_cancelled AND NOT is_refunded
          GROUP BY 1, 2) m
    WINDOW w AS (PARTITION BY customer_id ORDER BY month)
), per_snapshot AS (    -- each customer's state in the last month they bought in, up to the snapshot
    SELECT s.as_of, c.customer_id, s.as_of - c.last_day AS recency_days, c.frequency::int AS frequency,
           c.monetary
    FROM snapshots s
    JOIN customer_months c ON c.month <= s.as_of AND (c.next_month IS NULL OR c.next_month > s.as_of)
    WHERE c.last_day <= s.as_of
), sizes AS (
    SELECT as_of, count(*) AS n FROM per_snapshot GROUP BY as_of
), r_rank AS (    -- rank = 1 + customers strictly worse; from value counts, not a sort of every row
    SELECT as_of, recency_days, 1 + coalesce(sum(c) OVER (PARTITION BY as_of ORDER BY recency_days DESC
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS rnk
    FROM (SELECT as_of, recency_days, count(*) AS c FROM per_snapshot GROUP BY 1, 2) h
), f_rank AS (
    SELECT as_of, frequency, 1 + coalesce(sum(c) OVER (PARTITION BY as_of ORDER BY frequency
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS rnk
    FROM (SELECT as_of, frequency, count(*) AS c FROM per_snapshot GROUP BY 1, 2) h
), m_rank AS (
    SELECT as_of, monetary, 1 + coalesce(sum(c) OVER (PARTITION BY as_of ORDER BY monetary
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS rnk
    FROM (SELECT as_of, monetary, count(*) AS c FROM per_snapshot GROUP BY 1, 2) h
), scored AS MATERIALIZED (   -- scores first, then the name: keeps the planner from joining the map early
    SELECT p.*,
           least(5, 1 + 5 * (r.rnk - 1) / greatest(z.n - 1, 1))::smallint AS r,
           least(5, 1 + 5 * (f.rnk - 1) / greatest(z.n - 1, 1))::smallint AS f,
           least(5, 1 + 5 * (m.rnk - 1) / greatest(z.n - 1, 1))::smallint AS m
    FROM per_snapshot p
    JOIN sizes z USING (as_of)
    JOIN r_rank r USING (as_of, recency_days)
    JOIN f_rank f USING (as_of, frequency)
    JOIN m_rank m USING (as_of, monetary)
)
INSERT INTO marts.rfm
SELECT s.as_of, s.customer_id, s.recency_days, s.frequency, s.monetary, s.r, s.f, s.m, map.segment
FROM scored s
JOIN marts.rfm_segment_map map ON map.r = s.r AND map.fm = round((s.f + s.m) / 2.0);

ALTER TABLE marts.rfm ADD CONSTRAINT rfm_pkey PRIMARY KEY (as_of, customer_id);
