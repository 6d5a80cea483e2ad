-- marts.cohorts: customers by the month of their first counted order; for each month since then,
-- how many ordered again (retention = active / cohort size), the revenue, and the cumulative
-- revenue per cohort customer. The sums come from core.cohort_activity, which core_orders keeps
-- per cohort and month (every customer is active in the cohort month, so its count is the size).
TRUNCATE marts.cohorts;

INSERT INTO marts.cohorts (cohort_month, months_since, cohort_size, active_customers, retention, revenue,
                           cumulative_revenue_per_customer)
SELECT a.cohort_month, a.months_since, s.active_customers, a.active_customers,
       round(a.active_customers::numeric / s.active_customers, 4), a.revenue,
       round(sum(a.revenue) OVER (PARTITION BY a.cohort_month ORDER BY a.months_since) / s.active_customers, 2)
FROM core.cohort_activity a
JOIN core.cohort_activity s ON s.cohort_month = a.cohort_month AND s.months_since = 0;
