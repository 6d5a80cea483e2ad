-- Prediction flags on the rows customer_segments.sql computed (segment_rows), from the latest
-- snapshot in marts.customer_predictions at or before each day whose fit passed (fit_ok):
--   likely_to_churn       churn_risk 'high' and no counted order since the snapshot
--   high_predicted_value  predicted 12-month CLV in the snapshot's top 10 % (clv_percentile >= 0.9)
-- Runs after customer_segments.sql, which sets both flags false.
WITH snapshot AS (
    SELECT d.as_of AS day,
           (SELECT max(f.as_of) FROM marts.customer_prediction_fits f
             WHERE f.fit_ok AND f.as_of <= d.as_of) AS as_of
    FROM generate_series(current_setting('marts.first_day')::date,
                         current_setting('marts.last_day')::date, interval '1 day') AS d(as_of)
)
UPDATE segment_rows s
SET likely_to_churn = p.churn_risk = 'high'
        AND (s.last_order_at AT TIME ZONE current_setting('marts.tz'))::date <= p.as_of,
    high_predicted_value = coalesce(p.clv_percentile >= 0.9, false)
FROM snapshot n
JOIN marts.customer_predictions p ON p.as_of = n.as_of
WHERE s.as_of = n.day AND s.customer_id = p.customer_id
  AND (p.churn_risk = 'high' OR p.clv_percentile >= 0.9);
