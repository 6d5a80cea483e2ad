-- Per customer, the BG/NBD inputs (weeks) at %(as_of)s and at the end of the calibration period
-- %(end)s (cal_*, NULL for a customer whose first purchase came after it), and the purchase days in
-- the holdout weeks between the two. A purchase is a brand-local day with a counted order (neither
-- cancelled nor fully refunded): several orders on one day are one purchase, as in the papers.
-- monetary_value: mean net revenue of the repeat purchase days (the first day excluded), else 0.
WITH days AS (
    SELECT customer_id, order_date AS day, sum(net_revenue)::float8 AS value
    FROM core.orders
    WHERE customer_id IS NOT NULL AND NOT is_cancelled AND NOT is_refunded AND order_date <= %(as_of)s
    GROUP BY 1, 2
), firsts AS (
    SELECT customer_id, min(day) AS first_day FROM days GROUP BY 1
), ranked AS (
    SELECT customer_id, day, value, first_day FROM days JOIN firsts USING (customer_id)
)
SELECT customer_id,
       count(*) - 1 AS frequency,
       (max(day) - first_day) / 7.0 AS recency,
       (%(as_of)s::date - first_day) / 7.0 AS "T",
       coalesce(avg(value) FILTER (WHERE day > first_day), 0) AS monetary_value,
       CASE WHEN first_day <= %(end)s THEN count(*) FILTER (WHERE day <= %(end)s) - 1 END AS cal_frequency,
       (max(day) FILTER (WHERE day <= %(end)s) - first_day) / 7.0 AS cal_recency,
       CASE WHEN first_day <= %(end)s THEN (%(end)s::date - first_day) / 7.0 END AS "cal_T",
       coalesce(avg(value) FILTER (WHERE day > first_day AND day <= %(end)s), 0) AS cal_monetary_value,
       count(*) FILTER (WHERE day > %(end)s) AS holdout_purchases
FROM ranked
GROUP BY customer_id, first_day
