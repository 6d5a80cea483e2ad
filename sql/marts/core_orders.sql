-- core.orders from the staged sources (their lines are in core.order_lines already, written by each
-- source's core_orders_from_<source>.sql).
-- customer_id: by the rule of core.customers (email, then phone, then the platform id; marts.resolved_view).
-- net_revenue: 0 for a cancelled order, gross minus refunds otherwise; is_refunded when nothing is left.
-- customer_order_number counts the customer's orders that are neither cancelled nor fully refunded.
-- The orders to replace are gone already (core_orders_stage.sql); a refresh renumbers the orders of
-- the customers it touched afterwards, since a customer's other orders are not staged.
SELECT marts.stage_view('stg_orders');  -- every source's staged orders as one (migration 251)

SELECT marts.resolved_view('resolved_orders', 'stg_orders');  -- each order's customer (migration 252)
WITH resolved AS (
    SELECT o.*, NOT o.is_cancelled AND o.refunded_amount >= o.gross_revenue AND o.gross_revenue > 0 AS is_refunded
    FROM resolved_orders o
    OFFSET 0   -- the lookups run once per order, not again where the numbering below names customer_id
)
INSERT INTO core.orders (order_key, channel, source_order_id, customer_id, email, ordered_at, order_date,
                         status, is_cancelled, is_refunded, currency, gross_revenue, refunded_amount,
                         net_revenue, discount_code, utm_source, utm_medium, utm_campaign,
                         customer_order_number)
SELECT channel || ':' || source_order_id, channel, source_order_id, customer_id,
       email, ordered_at, order_date, status, is_cancelled, is_refunded,
       currency, gross_revenue, refunded_amount,
       CASE WHEN is_cancelled THEN 0 ELSE greatest(gross_revenue - refunded_amount, 0) END,
       discount_code, utm_source, utm_medium, utm_campaign,
       CASE WHEN customer_id IS NOT NULL AND NOT is_cancelled AND NOT is_refunded
            THEN row_number() OVER (PARTITION BY customer_id, (is_cancelled OR is_refunded)
                                    ORDER BY ordered_at, channel, source_order_id) END
FROM resolved;

DO $$
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        CREATE TEMP TABLE orders_customers ON COMMIT DROP AS
        SELECT customer_id FROM orders_gone WHERE customer_id IS NOT NULL
        UNION
        SELECT o.customer_id FROM stg_orders s JOIN core.orders o ON o.order_key = s.channel || ':' || s.source_order_id
        WHERE o.customer_id IS NOT NULL;
        ANALYZE orders_customers;
        -- RFM rescores these customers (and those a moved quintile boundary reaches) next time.
        INSERT INTO core.changed_customers SELECT customer_id FROM orders_customers;
        WITH numbered AS (
            SELECT order_key, order_date, customer_order_number AS old,
                   CASE WHEN is_counted
                        THEN row_number() OVER (PARTITION BY customer_id, (is_cancelled OR is_refunded)
                                                ORDER BY ordered_at, channel, source_order_id) END AS new
            FROM core.orders WHERE customer_id IN (SELECT customer_id FROM orders_customers)
        ), renumbered AS (
            UPDATE core.orders o SET customer_order_number = n.new
            FROM numbered n
            -- = ANY of the renumbered keys: read by key, where the join alone is planned as a hash
            -- join over every order (the planner cannot tell how few numbers change)
            WHERE o.order_key = n.order_key AND n.old IS DISTINCT FROM n.new
              AND o.order_key = ANY (ARRAY(SELECT order_key FROM numbered WHERE old IS DISTINCT FROM new))
            RETURNING o.order_date
        )
        INSERT INTO scope_changed
        SELECT order_date FROM renumbered
        UNION SELECT order_date FROM orders_gone
        UNION SELECT order_date FROM stg_orders;
    ELSE
        TRUNCATE core.changed_customers;   -- RFM redoes every snapshot after a full build
        PERFORM marts.restore_indexes('core.orders');
        PERFORM marts.restore_indexes('core.order_lines');
        ANALYZE core.orders;
        ANALYZE core.order_lines;
    END IF;
END $$;

-- core.customer_months and core.cohort_activity (what marts.cohorts reads): counted orders per
-- customer and month, with the customer's first month, running totals and next month (RFM's closed
-- months, migration 246), and their sums per cohort month and months since. core.customer_totals
-- (RFM's running month, a day's segments): the same customers' counted orders in one row, which is
-- their last month's running totals: written from the same pass, not a second read of the orders.
-- A refresh takes the customers it touched out of the sums and puts them back as they are now.
CREATE TEMP TABLE cohort_delta (cohort_month date, month date, customers int, revenue numeric) ON COMMIT DROP;
DO $$
DECLARE
    hashagg text := current_setting('enable_hashagg');
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        WITH old AS (
            DELETE FROM core.customer_months WHERE customer_id IN (SELECT customer_id FROM orders_customers)
            RETURNING cohort_month, month, revenue
        )
        INSERT INTO cohort_delta SELECT cohort_month, month, -1, -revenue FROM old;
        DELETE FROM core.customer_totals
        WHERE customer_id = ANY (ARRAY(SELECT customer_id FROM orders_customers));   -- by key, not a scan of all
        CREATE TEMP VIEW counted_orders AS
        SELECT * FROM core.orders WHERE customer_id IN (SELECT customer_id FROM orders_customers) AND is_counted;
    ELSE  -- filled without their keys, built once afterwards
        TRUNCATE core.customer_months, core.cohort_activity, core.customer_totals;
        PERFORM marts.set_aside_indexes('core.customer_months');
        PERFORM marts.set_aside_indexes('core.customer_totals');
        -- Nearly one group per order: grouping the sorted orders gives the groups in the window's
        -- order, where the planner's choice, hashing 860k groups and then sorting them, takes twice
        -- as long at a million orders.
        PERFORM set_config('enable_hashagg', 'off', true);
        CREATE TEMP VIEW counted_orders AS SELECT * FROM core.orders WHERE customer_id IS NOT NULL AND is_counted;
    END IF;
    WITH months AS MATERIALIZED (
        SELECT customer_id, month, first_value(month) OVER w AS cohort_month, orders, revenue, last_day,
               sum(orders) OVER w AS orders_to_date, sum(revenue) OVER w AS revenue_to_date,
               lead(month) OVER w AS next_month, first_value(first_day) OVER w AS first_day, last_at
        FROM (SELECT customer_id, date_trunc('month', order_date)::date AS month, count(*) AS orders,
                     sum(net_revenue) AS revenue, min(order_date) AS first_day, max(order_date) AS last_day,
                     max(ordered_at) AS last_at
              FROM counted_orders
              GROUP BY 1, 2) m
        WINDOW w AS (PARTITION BY customer_id ORDER BY month)
    ), written AS (
        INSERT INTO core.customer_months (customer_id, month, cohort_month, orders, revenue, last_day,
                                          orders_to_date, revenue_to_date, next_month)
        SELECT customer_id, month, cohort_month, orders, revenue, last_day, orders_to_date, revenue_to_date, next_month
        FROM months
    ), totals AS (   -- in customer order, as the window sorted them: RFM's running month reads them so
        INSERT INTO core.customer_totals (customer_id, orders, revenue, first_day, last_day, last_at)
        SELECT customer_id, orders_to_date, revenue_to_date, first_day, last_day, last_at
        FROM months WHERE next_month IS NULL
    )
    INSERT INTO cohort_delta   -- summed here: 859k customer-months at a million orders, a few hundred sums
    SELECT cohort_month, month, count(*), sum(revenue) FROM months GROUP BY 1, 2;
    IF NOT current_setting('marts.incremental')::boolean THEN
        PERFORM set_config('enable_hashagg', hashagg, true);
        PERFORM marts.restore_indexes('core.customer_months');
        PERFORM marts.restore_indexes('core.customer_totals');
        ANALYZE core.customer_months;
    END IF;
    -- Summed by cohort and calendar month, which give one month since each: the month arithmetic
    -- (numeric) runs once per sum, not once per row.
    INSERT INTO core.cohort_activity AS a (cohort_month, months_since, active_customers, revenue)
    SELECT cohort_month,
           (extract(year FROM month) - extract(year FROM cohort_month))::int * 12
             + (extract(month FROM month) - extract(month FROM cohort_month))::int,
           customers, revenue
    FROM (SELECT cohort_month, month, sum(customers) AS customers, sum(revenue) AS revenue
          FROM cohort_delta GROUP BY 1, 2) d
    ON CONFLICT (cohort_month, months_since) DO UPDATE
        SET active_customers = a.active_customers + excluded.active_customers,
            revenue = a.revenue + excluded.revenue;
    DELETE FROM core.cohort_activity WHERE active_customers = 0;
END $$;
DROP VIEW counted_orders;
DROP VIEW resolved_orders, stg_orders;
