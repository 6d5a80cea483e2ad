-- The prediction flags of marts.customer_segments (likely_to_churn, high_predicted_value: set only
-- from a fit that passed its check) become segments like the others, so Klaviyo lists and
-- Customer.io attributes can name them.
CREATE OR REPLACE VIEW marts.segment_members AS
SELECT DISTINCT s.as_of, s.customer_id, m.segment
FROM marts.customer_segments s
CROSS JOIN LATERAL (VALUES
    (s.segment),
    (CASE WHEN s.orders > 0 THEN 'customer' END),
    (CASE WHEN s.is_new_subscriber THEN 'new_subscriber' END),
    (CASE WHEN s.is_new_customer THEN 'new_customer' END),
    (CASE WHEN s.is_repeat THEN 'repeat' END),
    (CASE WHEN s.is_vip THEN 'vip' END),
    (CASE WHEN s.is_one_time_buyer THEN 'one_time_buyer' END),
    (s.lifecycle),
    (CASE WHEN s.likely_to_churn THEN 'likely_to_churn' END),
    (CASE WHEN s.high_predicted_value THEN 'high_predicted_value' END)
) AS m(segment)
WHERE m.segment IS NOT NULL;
