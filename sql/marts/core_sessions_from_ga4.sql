-- GA4 traffic per day and session source / medium / campaign, summed over properties. GA4's
-- "(other)" row (low-volume keys folded together) is kept: its sessions are real.
INSERT INTO core.sessions (session_date, source, medium, campaign, sessions, engaged_sessions, add_to_carts,
                           checkouts, purchases, revenue)
SELECT report_date, session_source, session_medium, session_campaign_name,
       coalesce(sum(sessions), 0), sum(engaged_sessions), sum(add_to_carts), sum(checkouts),
       sum(ecommerce_purchases), sum(purchase_revenue)
FROM refresh_ga4_traffic_daily
GROUP BY 1, 2, 3, 4;
ANALYZE core.sessions;
