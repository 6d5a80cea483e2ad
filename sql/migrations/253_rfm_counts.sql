-- How many customers each stored RFM snapshot has at each value of each measure (recency as the
-- last order day, which does not move with the snapshot's date): the snapshot's quintile
-- boundaries come from these counts. A refresh that redoes a snapshot with few changed customers
-- adjusts the stored counts by what those customers were and are (sql/marts/rfm.sql), instead of
-- counting every customer of the snapshot again. kind is the measure (GROUPING() of the three:
-- 3 the last day, 5 the frequency, 6 the monetary value); the other two values are null.
-- A snapshot without counts (stored before them) is counted whole once. Unlogged, like the
-- snapshots they belong to.
CREATE UNLOGGED TABLE marts.rfm_counts (
    month     date     NOT NULL,
    kind      smallint NOT NULL,
    last_day  date,
    frequency integer,
    monetary  numeric,
    n         integer  NOT NULL
);
CREATE INDEX rfm_counts_month_idx ON marts.rfm_counts (month);
