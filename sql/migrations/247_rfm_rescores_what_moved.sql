-- A refresh rescores, in a snapshot it redoes, only the customers whose values changed or whose
-- score the moved quintile boundaries change (sql/marts/rfm.sql), instead of scoring every customer
-- and comparing all of them with the stored rows.
--
-- The customers whose counted orders core_orders changed, kept until RFM reads them. core_orders
-- adds the customers it touched (a full build of core.orders empties it: RFM then redoes every
-- snapshot); RFM takes them out as it reads them. It holds because core_orders is the only writer
-- of core.customer_totals and core.customer_months, what RFM reads. Unlogged, like the tables it
-- speaks of.
CREATE UNLOGGED TABLE core.changed_customers (
    customer_id text COLLATE "C" NOT NULL
);

-- Each stored snapshot's boundaries, in terms that do not move with its date: a customer scores
-- one more for each boundary its value is above (recency as the last order day), and the hash of
-- the segment map its segments were named with. NULL for snapshots stored before: they are
-- rescored whole once.
ALTER TABLE marts.rfm_snapshots
    ADD COLUMN last_day_cuts  date[],
    ADD COLUMN frequency_cuts integer[],
    ADD COLUMN monetary_cuts  numeric[],
    ADD COLUMN segment_map    text;

