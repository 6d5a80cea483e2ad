-- Each customer's month carries the customer's running totals up to it and the next month they
-- bought in (kept by sql/marts/core_orders.sql with the rest of the row). An RFM snapshot of a
-- closed month then reads the one row per customer that stands for it (month <= snapshot month <
-- next_month) instead of computing running totals over every customer's months each time it is
-- redone (sql/marts/rfm.sql): a late change in the month before costs a scan, not a window.
ALTER TABLE core.customer_months
    ADD COLUMN orders_to_date integer,
    ADD COLUMN revenue_to_date numeric,
    ADD COLUMN next_month date;   -- NULL: no later month (yet)
UPDATE core.customer_months m
SET orders_to_date = w.orders_to_date, revenue_to_date = w.revenue_to_date, next_month = w.next_month
FROM (SELECT customer_id, month, sum(orders) OVER w AS orders_to_date, sum(revenue) OVER w AS revenue_to_date,
             lead(month) OVER w AS next_month
      FROM core.customer_months
      WINDOW w AS (PARTITION BY customer_id ORDER BY month)) w
WHERE m.customer_id = w.customer_id AND m.month = w.month;
ALTER TABLE core.customer_months
    ALTER COLUMN orders_to_date SET NOT NULL,
    ALTER COLUMN revenue_to_date SET NOT NULL;
