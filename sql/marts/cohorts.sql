-- marts.cohorts: customers by the month of their first counted order; for each month since then,
-- how many ordered again (retention = active / cohort size), the revenue, and the cumulative
-- revenue per cohort customer.
TRUNCATE marts.cohorts;

WITH counted AS (
    SELECT customer_id, date_trunc('month', order_date)::date AS month, net_revenue
    FROM core.orders
    WHERE customer_id IS NOT NULL AND NOT is_cancelled AND NOT is_refunded
), firsts AS (
    SELECT customer_id, min(month) AS cohort_month FROM counted GROUP BY customer_id
), sizes AS (
    SELECT cohort_month, count(*) AS cohort_size FROM firsts GROUP BY cohort_month
), activity AS (
    SELECT f.cohort_month,
           (extract(year FROM c.month) - extract(year FROM f.cohort_month))::int * 12
             + (extract(month FROM c.month) - extract(month FROM f.cohort_month))::int AS months_since,
           count(DISTINCT c.customer_id) AS active_customers, sum(c.net_revenue) AS revenue
    FROM counted c JOIN firsts f USING (customer_id)
    GROUP BY 1, 2
)
INSERT INTO marts.cohorts (cohort_month, months_since, cohort_size, active_customers, retention, revenue,
                           cumulative_revenue_per_customer)
SELECT a.cohort_month, a.months_since, s.cohort_size, a.active_customers,
       round(a.active_customers::numeric / s.cohort_size, 4), a.revenue,
       round(sum(a.revenue) OVER (PARTITION BY a.cohort_month ORDER BY a.months_since) / s.cohort_size, 2)
FROM activity a JOIN sizes s USING (cohort_month);
