-- clv_customers (dropped at commit): per customer, the BG/NBD inputs at %(as_of)s in whole days (the
-- model works in weeks = days / 7) and at the end of the calibration period, %(cal_day)s days before (cal_*, NULL for a
-- customer whose first purchase came after it), and the purchase days in the holdout weeks between.
-- A purchase is a brand-local day with a counted order (neither cancelled nor fully refunded): several
-- orders on one day are one purchase, as in the papers. monetary: mean net revenue of the repeat
-- purchase days (the first day excluded), else 0.
-- Two hash aggregations and no join: the first day's value is the second element of the smallest
-- [day, value] array (arrays compare element by element), so the days are grouped only once.
CREATE TEMP TABLE clv_customers ON COMMIT DROP AS
WITH days AS (
    SELECT customer_id, order_date - %(as_of)s::date AS day, sum(net_revenue::float8) AS value
    FROM core.orders
    WHERE customer_id IS NOT NULL AND is_counted AND order_date <= %(as_of)s
    GROUP BY 1, 2
), customers AS (
    SELECT customer_id,
           count(*) AS n, min(day) AS first_day, max(day) AS last_day, sum(value) AS total,
           (min(ARRAY[day, value]))[2] AS first_value,
           count(*) FILTER (WHERE day <= %(cal_day)s::int) AS cal_n,
           max(day) FILTER (WHERE day <= %(cal_day)s::int) AS cal_last_day,
           sum(value) FILTER (WHERE day <= %(cal_day)s::int) AS cal_total
    FROM days
    GROUP BY customer_id
)
SELECT customer_id,
       (n - 1)::int AS x,
       last_day - first_day AS recency,
       -first_day AS t,
       CASE WHEN n > 1 THEN (total - first_value) / (n - 1) ELSE 0 END AS monetary,
       CASE WHEN cal_n > 0 THEN (cal_n - 1)::int END AS cal_x,
       cal_last_day - first_day AS cal_recency,
       CASE WHEN cal_n > 0 THEN %(cal_day)s::int - first_day END AS cal_t,
       CASE WHEN cal_n > 1 THEN (cal_total - first_value) / (cal_n - 1) WHEN cal_n = 1 THEN 0 END
           AS cal_monetary,
       (n - cal_n)::int AS holdout_purchases
FROM customers;
