-- Per customer, the BG/NBD inputs at %(end)s (weeks) and the purchase days after it up to %(as_of)s.
-- A purchase is a brand-local day with a counted order (neither cancelled nor fully refunded): several
-- orders on one day are one purchase, as in the papers. monetary_value: mean net revenue of the repeat
-- purchase days (the first day excluded); 0 for a customer with no repeat purchase.
WITH days AS (
    SELECT customer_id, order_date AS day, sum(net_revenue) AS value
    FROM core.orders
    WHERE customer_id IS NOT NULL AND NOT is_cancelled AND NOT is_refunded AND order_date <= %(as_of)s
    GROUP BY 1, 2
), firsts AS (
    SELECT customer_id, min(day) AS first_day FROM days GROUP BY 1 HAVING min(day) <= %(end)s
)
SELECT d.customer_id,
       count(*) FILTER (WHERE d.day <= %(end)s) - 1 AS frequency,
       (max(d.day) FILTER (WHERE d.day <= %(end)s) - f.first_day) / 7.0 AS recency,
       (%(end)s::date - f.first_day) / 7.0 AS "T",
       coalesce(avg(d.value) FILTER (WHERE d.day <= %(end)s AND d.day > f.first_day), 0) AS monetary_value,
       count(*) FILTER (WHERE d.day > %(end)s) AS holdout_purchases
FROM days d JOIN firsts f USING (customer_id)
GROUP BY d.customer_id, f.first_day
ORDER BY d.customer_id
