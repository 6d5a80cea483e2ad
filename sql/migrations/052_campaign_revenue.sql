-- Revenue per campaign and flow, under both touch models of marts.attribution (one row per day,
-- model, channel, platform, campaign and flow). A view: always as fresh as marts.attribution.
CREATE VIEW marts.campaign_revenue AS
SELECT order_date AS day, 'last_touch' AS model, last_touch_channel AS channel, last_touch_platform AS platform,
       last_touch_campaign AS campaign, last_touch_flow AS flow, count(*) AS orders, sum(net_revenue) AS revenue
FROM marts.attribution
GROUP BY 1, 2, 3, 4, 5, 6
UNION ALL
SELECT order_date, 'first_touch', first_touch_channel, first_touch_platform, first_touch_campaign, first_touch_flow,
       count(*), sum(net_revenue)
FROM marts.attribution
GROUP BY 1, 2, 3, 4, 5, 6;
