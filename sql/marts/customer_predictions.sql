-- marts.customer_predictions for %(as_of)s: every customer of clv_customers joined to the scores of
-- its (x, recency, t) staged in clv_scores (BG/NBD outputs, one row per distinct triple).
-- Expected order value: Gamma-Gamma's conditional mean (Fader & Hardie's note on the model, eq. 5,
-- as pymc-marketing's expected_customer_spend), the population mean v p / (q - 1) shrunk towards
-- the customer's own mean by p x / (p x + q - 1); NULL without a spend fit. 12-month CLV = that
-- value x the discounted expected purchases of the next 12 months. Money is rounded to cents; the
-- next order date is as_of plus the median weeks to the next purchase; churn_risk bands
-- churn_probability (P(no purchase in 52 weeks)) at %(medium)s and %(high)s.
INSERT INTO marts.customer_predictions (as_of, customer_id, frequency, recency_weeks, t_weeks, prob_alive,
                                        expected_purchases_30d, expected_purchases_90d,
                                        expected_purchases_365d, expected_order_value, predicted_clv_12m,
                                        clv_percentile, predicted_next_order_date, churn_probability,
                                        churn_risk)
WITH spend AS (
    SELECT c.customer_id, c.x, c.recency, c.t, s.prob_alive, s.e30, s.e90, s.e365, s.discounted_purchases,
           s.next_weeks, s.churn,
           %(p)s::float8 * (%(v)s::float8 + c.x * c.monetary) / (%(p)s::float8 * c.x + %(q)s::float8 - 1)
               AS order_value
    FROM clv_customers c
    JOIN clv_scores s ON (s.x, s.recency, s.t) = (c.x, c.recency, c.t)
), valued AS (
    SELECT *, order_value * discounted_purchases AS clv FROM spend
)
SELECT %(as_of)s::date, customer_id, x, recency / 7.0, t / 7.0, prob_alive, e30, e90, e365,
       round(order_value::numeric, 2), round(clv::numeric, 2),
       CASE WHEN clv IS NOT NULL THEN percent_rank() OVER (ORDER BY clv NULLS FIRST) END,
       %(as_of)s::date + round(nullif(next_weeks, 'NaN') * 7)::int,  -- NaN: not within a year
       churn,
       CASE WHEN churn >= %(high)s THEN 'high' WHEN churn >= %(medium)s THEN 'medium' ELSE 'low' END
FROM valued;
