-- marts.customer_predictions for %(as_of)s from the scores staged in stg_predictions (model outputs).
-- Money is rounded to cents; the next order date is as_of plus the median weeks to the next purchase;
-- churn_risk bands churn_probability (P(no purchase in 52 weeks)) at %(medium)s and %(high)s.
INSERT INTO marts.customer_predictions (as_of, customer_id, frequency, recency_weeks, t_weeks, prob_alive,
                                        expected_purchases_30d, expected_purchases_90d,
                                        expected_purchases_365d, expected_order_value, predicted_clv_12m,
                                        clv_percentile, predicted_next_order_date, churn_probability,
                                        churn_risk)
SELECT %(as_of)s::date, customer_id, frequency::int, recency, t, prob_alive, e30, e90, e365,
       round(order_value::numeric, 2), round(clv::numeric, 2),
       CASE WHEN clv IS NOT NULL THEN percent_rank() OVER (ORDER BY clv NULLS FIRST) END,
       %(as_of)s::date + round(next_weeks * 7)::int,
       churn,
       CASE WHEN churn >= %(high)s THEN 'high' WHEN churn >= %(medium)s THEN 'medium' ELSE 'low' END
FROM stg_predictions;
