-- marts.rfm: Recency, Frequency, Monetary quintile scores at each month end (the running month as
-- of the latest order day), for the last marts.rfm_months months: movement between snapshots is
-- how customers travel between segments.
--   recency_days = as_of - last counted order day; frequency = counted orders; monetary = net revenue.
--   score = 1 + floor(5 * (rank - 1) / (n - 1)), capped at 5, ranking worst to best within the
--   snapshot (ties share a score; a quintile boundary falls at rank-1 = (n-1)/5 * k).
--   segment = marts.rfm_segment_map(R, FM) with FM = round((F + M) / 2), e.g. R5 FM5 Champions,
--   R1 FM1 Lost, R1 FM5 Cannot Lose Them (the usual 11 names; the full grid is in migration 050).
-- A snapshot depends only on the counted orders up to its as_of and on the segment map. A refresh
-- redoes a snapshot when its date or the segment map changed (marts.rfm_snapshots keeps both) or
-- core.orders changed on a day up to its date since RFM last ran (scope_days, the days core_orders
-- logged), so a daily refresh redoes the running month only; a full rebuild, or the file run alone,
-- redoes every snapshot. The running month is ranked from core.customer_totals (one row per
-- customer, kept by core_orders), and only the rows that differ from the stored ones are written.
-- A snapshot redone with its boundaries stored rescores only the customers whose orders changed
-- (core.changed_customers) and those a moved boundary reaches: every other customer's values and
-- boundaries are the same, so is their score. Its new boundaries come from its stored customers per
-- value (marts.rfm_counts) less what the touched customers were and plus what they are: no
-- snapshot is read whole for a few changed customers.
-- Rows are kept in marts.rfm_scores, one partition per month (migration 249), with the last order
-- day, so the running month's date moving by a day changes no row by itself; the view marts.rfm
-- adds the date and the recency.
CREATE TEMP TABLE IF NOT EXISTS scope_days (key text NOT NULL, day date NOT NULL);  -- as scope.py makes it

-- The customers whose counted orders changed since RFM last read them, taken out as they are read.
CREATE TEMP TABLE rfm_touched (customer_id text COLLATE "C" NOT NULL) ON COMMIT DROP;
WITH taken AS (DELETE FROM core.changed_customers RETURNING customer_id)
INSERT INTO rfm_touched SELECT DISTINCT customer_id FROM taken;
ANALYZE rfm_touched;

CREATE TEMP TABLE rfm_wanted ON COMMIT DROP AS
WITH bounds AS (
    SELECT max(order_date) AS last_day FROM core.orders
), snapshots AS (
    SELECT m::date AS month, least((m + interval '1 month - 1 day')::date, b.last_day) AS as_of,
           b.last_day
    FROM bounds b,
         generate_series(date_trunc('month', b.last_day)
                             - make_interval(months => current_setting('marts.rfm_months')::int - 1),
                         date_trunc('month', b.last_day), interval '1 month') AS m
    WHERE b.last_day IS NOT NULL
), segment_map AS (
    SELECT md5(string_agg(r || ':' || fm || ':' || segment, ',' ORDER BY r, fm)) AS h FROM marts.rfm_segment_map
)
SELECT s.month, s.as_of, s.as_of = s.last_day AS running,   -- running: every counted order is in it
       concat_ws(':', s.as_of, segment_map.h) AS inputs, segment_map.h AS segment_map
FROM snapshots s
CROSS JOIN segment_map;

CREATE TEMP TABLE rfm_todo ON COMMIT DROP AS
SELECT w.* FROM rfm_wanted w
WHERE NOT coalesce(current_setting('marts.incremental', true)::boolean, false)
   OR NOT EXISTS (SELECT 1 FROM marts.rfm_snapshots s WHERE s.as_of = w.as_of AND s.inputs = w.inputs)
   OR EXISTS (SELECT 1 FROM scope_days d WHERE d.key = 'day' AND d.day <= w.as_of);

-- A few snapshots to redo (a normal day: the running month; a late change in the month before: two)
-- have their new rows compared with the stored ones, and only those that differ written; a month
-- without stored rows (the new month, on its first day) is written whole. Most of them (a first
-- build, a full rebuild, a late change months back): their rows are replaced, the key over every
-- month built once after the load, faster than maintaining it for millions of rows but slower than
-- a comparison while only a few months are redone.
SELECT set_config('marts.rfm_bulk', ((SELECT count(*) FROM rfm_todo) * 2 > (SELECT count(*) FROM rfm_wanted))::text, true);
-- marts.rfm_scores keeps one partition per month (migration 249): in a bulk rewrite each month
-- redone is dropped and made again, empty and without keys (setting the keys aside locks the table:
-- a bulk rewrite waits for its readers). A month that leaves the window is dropped too, which waits
-- for every reader of marts.rfm: a refresh waits two seconds at most, and leaves the month to the
-- next run if a reader holds it longer (an open transaction). Its rows are out of marts.rfm already:
-- the view shows only months with a snapshot.
DO $$
DECLARE
    bulk boolean := current_setting('marts.rfm_bulk')::boolean;
    wait text := current_setting('lock_timeout');
    p record;
BEGIN
    PERFORM marts.set_aside_indexes('marts.rfm_scores') WHERE bulk;
    PERFORM set_config('lock_timeout', '2s', true);
    FOR p IN SELECT * FROM marts.rfm_partitions()
             WHERE month NOT IN (SELECT month FROM rfm_wanted) OR bulk AND month IN (SELECT month FROM rfm_todo)
    LOOP
        BEGIN
            EXECUTE format('DROP TABLE %s', p.part);
        EXCEPTION WHEN lock_not_available THEN
            RAISE NOTICE 'rfm: % is in use, left for the next run', p.part;
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', wait, true);
    PERFORM marts.rfm_add_month(month) FROM rfm_todo WHERE bulk;
END $$;

-- Snapshots redone by comparison whose boundaries are stored (under the same segment map): only
-- the customers whose orders changed and those a moved boundary reaches are rescored (below).
CREATE TEMP TABLE rfm_banded ON COMMIT DROP AS
SELECT t.month, s.last_day_cuts, s.frequency_cuts, s.monetary_cuts
FROM rfm_todo t
JOIN marts.rfm_snapshots s ON s.month = t.month
WHERE NOT current_setting('marts.rfm_bulk')::boolean
  AND s.segment_map = t.segment_map
  AND s.last_day_cuts[1] IS NOT NULL   -- stored before them, or of a snapshot without customers
  AND EXISTS (SELECT 1 FROM marts.rfm_counts c WHERE c.month = t.month);   -- none before migration 253
ANALYZE rfm_banded;

-- Each customer's state in the last month they bought in up to a snapshot: the one row of
-- core.customer_months with month <= the snapshot's month < its next month, which carries the
-- running totals (kept by core_orders); the running month takes core.customer_totals as it is. The
-- rows come out in the key's order, month then customer (each snapshot in turn over the customers'
-- months, the running month last, in the order a full rebuild of core_orders wrote them): written
-- in that order, the key over millions of rows is built from sorted input. The view reads the
-- snapshots listed in rfm_reading (a filter on the view itself would be applied to its rows, not
-- to the months it reads).
-- The customers read: everyone here; only the touched ones further down (the views are replaced
-- there), looked up by key.
ANALYZE rfm_todo;
CREATE TEMP TABLE rfm_reading (month date NOT NULL) ON COMMIT DROP;
CREATE OR REPLACE TEMP VIEW rfm_customer_months AS SELECT * FROM core.customer_months;
CREATE OR REPLACE TEMP VIEW rfm_customer_totals AS SELECT * FROM core.customer_totals;
CREATE OR REPLACE TEMP VIEW rfm_state_of AS
SELECT t.month, t.as_of, c.customer_id, c.last_day, t.as_of - c.last_day AS recency_days,
       c.orders_to_date AS frequency, c.revenue_to_date AS monetary
FROM (SELECT * FROM rfm_todo WHERE NOT running AND month IN (SELECT month FROM rfm_reading) ORDER BY month) t
CROSS JOIN LATERAL (SELECT * FROM rfm_customer_months c   -- OFFSET 0: scanned once per snapshot, in order
                    WHERE c.month <= t.month AND (c.next_month IS NULL OR t.month < c.next_month)
                    OFFSET 0) c
UNION ALL
SELECT t.month, t.as_of, c.customer_id, c.last_day, t.as_of - c.last_day, c.orders, c.revenue
FROM rfm_customer_totals c
JOIN rfm_todo t ON t.running AND t.month IN (SELECT month FROM rfm_reading);
-- The rows to score: every row of the snapshots redone whole (the rescored ones of the others are
-- added once their boundaries are known).
INSERT INTO rfm_reading SELECT month FROM rfm_todo WHERE month NOT IN (SELECT month FROM rfm_banded);
CREATE TEMP TABLE rfm_state ON COMMIT DROP AS SELECT * FROM rfm_state_of;
-- The snapshots with stored boundaries and counts: their touched customers' rows now, read by key.
TRUNCATE rfm_reading;
INSERT INTO rfm_reading SELECT month FROM rfm_banded;
CREATE OR REPLACE TEMP VIEW rfm_customer_months AS
SELECT * FROM core.customer_months WHERE customer_id IN (SELECT customer_id FROM rfm_touched);
CREATE OR REPLACE TEMP VIEW rfm_customer_totals AS
SELECT * FROM core.customer_totals WHERE customer_id IN (SELECT customer_id FROM rfm_touched);
CREATE TEMP TABLE rfm_touched_state ON COMMIT DROP AS SELECT * FROM rfm_state_of;
-- And their stored rows, month by month: a month given as a value reads its partition alone (a join
-- to the months is planned over every partition). The rows a moved boundary reaches are read the
-- same way below: they are known only once the counts give the new boundaries.
CREATE TEMP TABLE rfm_touched_stored (month date, last_day date, frequency int, monetary numeric) ON COMMIT DROP;
DO $$
DECLARE
    one_month date;
BEGIN
    FOR one_month IN SELECT month FROM rfm_banded LOOP
        INSERT INTO rfm_touched_stored
        SELECT r.month, r.last_day, r.frequency, r.monetary
        FROM marts.rfm_scores r
        WHERE r.month = one_month AND r.customer_id = ANY (ARRAY(SELECT customer_id FROM rfm_touched));
    END LOOP;
END $$;
-- The customers at each value of each measure: counted in the snapshots redone whole; in the others,
-- the stored counts with the touched customers' stored rows taken out and their rows now put in.
-- A score is 1 + the number of its four boundaries a customer passes: score >= k + 1 exactly when
-- at least c = ceil(k * (n - 1) / 5) customers are strictly worse, i.e. when the value is better
-- than the c-th worst. One pass counts the customers at each value (a few thousand groups per
-- snapshot: no sort of the rows); running counts, worst first, then give the c-th worst value; the
-- rows are then scored against them in one scan: no sort or window over whole rows, no join whose
-- size the planner must guess.
CREATE TEMP TABLE rfm_counted ON COMMIT DROP AS
WITH changes AS (
    SELECT as_of, recency_days, frequency, monetary, 1 AS n FROM rfm_state
    UNION ALL
    SELECT as_of, recency_days, frequency, monetary, 1 FROM rfm_touched_state
    UNION ALL
    SELECT t.as_of, t.as_of - r.last_day, r.frequency, r.monetary, -1
    FROM rfm_touched_stored r JOIN rfm_todo t USING (month)
), counts AS (
    SELECT as_of, recency_days, frequency, monetary, sum(n) AS n,
           GROUPING(recency_days, frequency, monetary) AS kind   -- which of the three a row counts
    FROM changes
    GROUP BY GROUPING SETS ((as_of, recency_days), (as_of, frequency), (as_of, monetary))
    UNION ALL
    SELECT t.as_of, t.as_of - c.last_day, c.frequency, c.monetary, c.n, c.kind
    FROM rfm_banded b
    JOIN rfm_todo t USING (month)
    JOIN marts.rfm_counts c ON c.month = b.month
)
SELECT as_of, kind, recency_days, frequency, monetary, sum(n)::int AS n
FROM counts
GROUP BY as_of, kind, recency_days, frequency, monetary
HAVING sum(n) <> 0;
CREATE TEMP TABLE rfm_cuts ON COMMIT DROP AS
WITH running AS (   -- customers at this value or worse; the other two values are null in the row
    SELECT as_of, recency_days, frequency, monetary,
           sum(n) OVER (PARTITION BY as_of, kind ORDER BY recency_days DESC, frequency, monetary) AS upto,
           greatest(sum(n) OVER (PARTITION BY as_of, kind) - 1, 1)::int AS d   -- n - 1 (1 for one customer)
    FROM rfm_counted
)
SELECT as_of,   -- as columns: read once per row
       max(recency_days) FILTER (WHERE upto >= (d + 4) / 5) AS r1,
       max(recency_days) FILTER (WHERE upto >= (2 * d + 4) / 5) AS r2,
       max(recency_days) FILTER (WHERE upto >= (3 * d + 4) / 5) AS r3,
       max(recency_days) FILTER (WHERE upto >= (4 * d + 4) / 5) AS r4,
       min(frequency) FILTER (WHERE upto >= (d + 4) / 5) AS f1,
       min(frequency) FILTER (WHERE upto >= (2 * d + 4) / 5) AS f2,
       min(frequency) FILTER (WHERE upto >= (3 * d + 4) / 5) AS f3,
       min(frequency) FILTER (WHERE upto >= (4 * d + 4) / 5) AS f4,
       min(monetary) FILTER (WHERE upto >= (d + 4) / 5) AS m1,
       min(monetary) FILTER (WHERE upto >= (2 * d + 4) / 5) AS m2,
       min(monetary) FILTER (WHERE upto >= (3 * d + 4) / 5) AS m3,
       min(monetary) FILTER (WHERE upto >= (4 * d + 4) / 5) AS m4
FROM running
GROUP BY as_of;
ANALYZE rfm_cuts;
-- The boundaries as marts.rfm_snapshots keeps them: recency's as last order days (recency < cut
-- exactly when last_day > as_of - cut), which do not move with the snapshot's date.
CREATE OR REPLACE TEMP VIEW rfm_boundaries AS
SELECT as_of, ARRAY[as_of - r1, as_of - r2, as_of - r3, as_of - r4] AS last_day_cuts,
       ARRAY[f1, f2, f3, f4] AS frequency_cuts, ARRAY[m1, m2, m3, m4] AS monetary_cuts
FROM rfm_cuts;

-- Each stored boundary against the new one: a boundary that moved changes the score of exactly the
-- values it moved across, (lo, hi]; one that stayed changes none. Per snapshot, the values the moved
-- boundaries crossed, one multirange per measure (empty when none moved): each row is then tested
-- three times, not against all twelve boundaries.
CREATE TEMP TABLE rfm_bands ON COMMIT DROP AS
SELECT t.month,
       (SELECT coalesce(range_agg(daterange(least(o, n), greatest(o, n), '(]')), '{}')
        FROM unnest(b.last_day_cuts, n.last_day_cuts) AS c(o, n) WHERE o <> n) AS last_days,
       (SELECT coalesce(range_agg(int4range(least(o, n), greatest(o, n), '(]')), '{}')
        FROM unnest(b.frequency_cuts, n.frequency_cuts) AS c(o, n) WHERE o <> n) AS frequencies,
       (SELECT coalesce(range_agg(numrange(least(o, n), greatest(o, n), '(]')), '{}')
        FROM unnest(b.monetary_cuts, n.monetary_cuts) AS c(o, n) WHERE o <> n) AS monetaries
FROM rfm_banded b
JOIN rfm_todo t USING (month)
JOIN rfm_boundaries n ON n.as_of = t.as_of;
ANALYZE rfm_bands;
-- The rows of those snapshots to score: the touched customers and those a moved boundary rescores.
-- Every other customer's values and boundaries are unchanged, and so is their row: those in a moved
-- boundary's reach are read from their stored rows (a scan of the month only when one moved).
INSERT INTO rfm_state SELECT * FROM rfm_touched_state;
DO $$
DECLARE
    one_month date;
BEGIN
    FOR one_month IN SELECT month FROM rfm_bands WHERE NOT (isempty(last_days) AND isempty(frequencies) AND isempty(monetaries)) LOOP
        INSERT INTO rfm_state
        SELECT t.month, t.as_of, r.customer_id, r.last_day, t.as_of - r.last_day, r.frequency, r.monetary
        FROM marts.rfm_scores r
        JOIN rfm_bands b USING (month)
        JOIN rfm_todo t USING (month)
        WHERE r.month = one_month
          AND (r.last_day <@ b.last_days OR r.frequency <@ b.frequencies OR r.monetary <@ b.monetaries)
          AND r.customer_id NOT IN (SELECT customer_id FROM rfm_touched);
    END LOOP;
END $$;

-- The segment map as an array of its 25 cells, (r - 1) * 5 + fm: read once (a scalar subquery, not
-- a join repeated for every row) and subscripted per row (a missing cell gives no segment, which
-- the table refuses).
CREATE TEMP TABLE rfm_cells ON COMMIT DROP AS
SELECT array_agg(m.segment ORDER BY g.cell) AS segments
FROM generate_series(1, 25) AS g(cell)
LEFT JOIN marts.rfm_segment_map m ON (m.r - 1) * 5 + m.fm = g.cell;

-- The new rows of the snapshots listed in rfm_reading, scored.
CREATE OR REPLACE TEMP VIEW rfm_new AS
SELECT s.month, s.customer_id, s.last_day, s.frequency, s.monetary, s.r, s.f, s.m,
       ((SELECT segments FROM rfm_cells))[(s.r - 1) * 5 + (s.f + s.m + 1) / 2] AS segment   -- round((F + M) / 2) in integers
FROM (SELECT s.month, s.customer_id, s.last_day, s.frequency, s.monetary,
             (1 + (s.recency_days < c.r1)::int + (s.recency_days < c.r2)::int
                + (s.recency_days < c.r3)::int + (s.recency_days < c.r4)::int)::smallint AS r,
             (1 + (s.frequency > c.f1)::int + (s.frequency > c.f2)::int
                + (s.frequency > c.f3)::int + (s.frequency > c.f4)::int)::smallint AS f,
             (1 + (s.monetary > c.m1)::int + (s.monetary > c.m2)::int
                + (s.monetary > c.m3)::int + (s.monetary > c.m4)::int)::smallint AS m
      FROM rfm_state s
      JOIN (SELECT c.* FROM rfm_cuts c JOIN rfm_todo t USING (as_of)   -- the months read: a filter on
            WHERE t.month IN (SELECT month FROM rfm_reading)) c         -- a dozen cuts, not on every row
           USING (as_of)
      OFFSET 0) s;   -- scored once per row, not again inside the subscript

DO $$
BEGIN
    IF current_setting('marts.rfm_bulk')::boolean THEN
        TRUNCATE rfm_reading;
        INSERT INTO rfm_reading SELECT month FROM rfm_todo;
        INSERT INTO marts.rfm_scores SELECT * FROM rfm_new;
        PERFORM marts.restore_indexes('marts.rfm_scores');
    ELSE
        -- A month without stored rows (the new month, on its first day) has nothing to compare: it
        -- is written whole, as a partition of its own.
        CREATE TEMP TABLE rfm_unstored ON COMMIT DROP AS   -- one row looked for in the month's partition
        SELECT month FROM rfm_todo t WHERE (SELECT r.month FROM marts.rfm_scores r WHERE r.month = t.month LIMIT 1) IS NULL;
        TRUNCATE rfm_reading;
        INSERT INTO rfm_reading SELECT month FROM rfm_unstored;
        PERFORM marts.rfm_write_month(month, 'rfm_new') FROM rfm_unstored;
        -- The others, only what changed: one pass over the new and the stored rows, then the few
        -- that differ (of a snapshot with bands, the stored rows of the customers rescored or touched).
        TRUNCATE rfm_reading;
        INSERT INTO rfm_reading SELECT month FROM rfm_todo WHERE month NOT IN (SELECT month FROM rfm_unstored);
        CREATE TEMP TABLE rfm_fresh ON COMMIT DROP AS SELECT * FROM rfm_new;
        ANALYZE rfm_fresh;
        -- Kept with statistics: a few hundred keys, looked up by index (a guess of half the rescored
        -- rows planned a scan of every snapshot's rows).
        CREATE TEMP TABLE rfm_rescored ON COMMIT DROP AS
        SELECT month, customer_id FROM rfm_fresh WHERE month IN (SELECT month FROM rfm_banded)
        UNION
        SELECT b.month, t.customer_id FROM rfm_banded b CROSS JOIN rfm_touched t;
        ANALYZE rfm_rescored;
        CREATE TEMP TABLE rfm_diff ON COMMIT DROP AS
        SELECT coalesce(n.month, c.month) AS month, coalesce(n.customer_id, c.customer_id) AS customer_id,
               c.customer_id IS NOT NULL AS stored, n.customer_id IS NOT NULL AS fresh,
               n.last_day, n.frequency, n.monetary, n.r, n.f, n.m, n.segment
        FROM rfm_fresh n
        FULL JOIN (SELECT * FROM marts.rfm_scores
                   WHERE month IN (SELECT month FROM rfm_reading WHERE month NOT IN (SELECT month FROM rfm_banded))
                   UNION ALL
                   SELECT r.* FROM rfm_rescored k JOIN marts.rfm_scores r USING (month, customer_id)) c
               ON c.month = n.month AND c.customer_id = n.customer_id
        WHERE (n.last_day, n.frequency, n.monetary, n.r, n.f, n.m, n.segment)
              IS DISTINCT FROM (c.last_day, c.frequency, c.monetary, c.r, c.f, c.m, c.segment);
        ANALYZE rfm_diff;   -- a few hundred rows: looked up by key, not a scan of every snapshot
        DELETE FROM marts.rfm_scores c USING rfm_diff d
        WHERE d.stored AND c.month = d.month AND c.customer_id = d.customer_id;
        INSERT INTO marts.rfm_scores
        SELECT month, customer_id, last_day, frequency, monetary, r, f, m, segment FROM rfm_diff WHERE fresh
        ORDER BY month, customer_id;
    END IF;
END $$;

-- The counts of the snapshots redone replace theirs; a month that left the window leaves its own.
DELETE FROM marts.rfm_counts
WHERE month NOT IN (SELECT month FROM rfm_wanted) OR month IN (SELECT month FROM rfm_todo);
INSERT INTO marts.rfm_counts (month, kind, last_day, frequency, monetary, n)
SELECT t.month, c.kind, t.as_of - c.recency_days, c.frequency, c.monetary, c.n
FROM rfm_counted c JOIN rfm_todo t USING (as_of);
-- Kept snapshots keep their row (the transaction that computed them).
DELETE FROM marts.rfm_snapshots s
WHERE s.as_of NOT IN (SELECT as_of FROM rfm_wanted) OR s.month IN (SELECT month FROM rfm_todo);
INSERT INTO marts.rfm_snapshots (as_of, inputs, last_day_cuts, frequency_cuts, monetary_cuts, segment_map)
SELECT t.as_of, t.inputs, n.last_day_cuts, n.frequency_cuts, n.monetary_cuts, t.segment_map
FROM rfm_todo t
LEFT JOIN rfm_boundaries n USING (as_of);
