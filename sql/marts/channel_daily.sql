-- marts.channel_daily: per brand-local day and sales channel. Revenue is net (refunds taken off,
-- cancelled orders at 0); orders and AOV count counted orders (core.orders.is_counted: neither
-- cancelled nor fully refunded); gross revenue and refunds every order not cancelled. A new
-- customer is one whose first counted order is that day; returning customers had one before.
-- A refresh rewrites the days core.orders changed (scope_days; refresh_orders: their orders); a full
-- rebuild every day.
DELETE FROM marts.channel_daily
WHERE NOT current_setting('marts.incremental')::boolean OR day IN (SELECT day FROM scope_days);

INSERT INTO marts.channel_daily (day, channel, orders, revenue, gross_revenue, refunds, cancelled_orders, aov,
                                 new_customers, returning_customers)
SELECT order_date, channel,
       count(*) FILTER (WHERE is_counted),
       coalesce(sum(net_revenue), 0),
       coalesce(sum(gross_revenue) FILTER (WHERE NOT is_cancelled), 0),
       coalesce(sum(refunded_amount) FILTER (WHERE NOT is_cancelled), 0),
       count(*) FILTER (WHERE is_cancelled),
       round(sum(net_revenue) FILTER (WHERE is_counted) / nullif(count(*) FILTER (WHERE is_counted), 0), 2),
       count(DISTINCT customer_id) FILTER (WHERE customer_order_number = 1),
       count(DISTINCT customer_id) FILTER (WHERE customer_order_number > 1)
FROM refresh_orders
GROUP BY order_date, channel;
