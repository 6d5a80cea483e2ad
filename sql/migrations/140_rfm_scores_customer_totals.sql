-- Each customer's counted orders in one row, kept by core_orders for the customers it touches:
-- RFM's running month and a day's segment snapshot read it instead of every order.
CREATE TABLE core.customer_totals (
    customer_id text        PRIMARY KEY,
    orders      integer     NOT NULL,
    revenue     numeric     NOT NULL,
    first_day   date        NOT NULL,
    last_day    date        NOT NULL,
    last_at     timestamptz NOT NULL
);
INSERT INTO core.customer_totals (customer_id, orders, revenue, first_day, last_day, last_at)
SELECT customer_id, count(*), sum(net_revenue), min(order_date), max(order_date), max(ordered_at)
FROM core.orders
WHERE customer_id IS NOT NULL AND is_counted
GROUP BY customer_id;

-- RFM rows are kept per month with the customer's last order day: the running month's date moves
-- every day, and with it every recency, so the view computes recency from the snapshot's date and
-- a refresh writes only the rows whose scores or values changed.
DROP TABLE marts.rfm;
ALTER TABLE marts.rfm_snapshots
    ADD COLUMN month date GENERATED ALWAYS AS (date_trunc('month', as_of::timestamp)::date) STORED;
ALTER TABLE marts.rfm_snapshots ADD CONSTRAINT rfm_snapshots_month_key UNIQUE (month);
-- inputs is now the snapshot's date and the segment map's hash; what changed in core.orders comes
-- from the refresh's scope (sql/marts/rfm.sql).
DELETE FROM marts.rfm_snapshots;  -- the next refresh computes every snapshot again

CREATE TABLE marts.rfm_scores (
    month        date     NOT NULL,   -- the snapshot's month (marts.rfm_snapshots gives its date)
    customer_id  text     NOT NULL,
    last_day     date     NOT NULL,   -- last counted order day up to the snapshot's date
    frequency    integer  NOT NULL,
    monetary     numeric  NOT NULL,
    r smallint NOT NULL, f smallint NOT NULL, m smallint NOT NULL,
    segment      text     NOT NULL,
    PRIMARY KEY (month, customer_id)
);

CREATE VIEW marts.rfm AS
SELECT s.as_of, c.customer_id, s.as_of - c.last_day AS recency_days, c.frequency, c.monetary,
       c.r, c.f, c.m, c.segment
FROM marts.rfm_scores c
JOIN marts.rfm_snapshots s ON s.month = c.month;
