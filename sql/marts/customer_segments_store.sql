-- Folds segment_rows (customer_segments.sql, customer_segments_predictions.sql) into
-- marts.customer_segment_spans and records the written days (migration 210).
--   changes, day  the new latest day: the open spans whose row moved end on it and the new rows
--                 open from it; a person no longer known has their open span closed. Rows that did
--                 not move are not written.
--   again         the latest day again: as above, except that an open span beginning on the day
--                 is replaced, and a new row equal to the span ending on the day extends that span.
--   days          the spans over [first_day, last_day] are cut out (what lies before and, if a
--                 later day was written, after is kept), each customer's runs of equal rows are
--                 written as spans, and spans that meet an equal one at either end are joined.
-- Then the settings and fit the latest day's rows came from are kept for the next day, and the
-- touched customers it read are forgotten.
DO $$
DECLARE
    from_day date := current_setting('marts.first_day')::date;
    to_day date := current_setting('marts.last_day')::date;
    mode text := current_setting('marts.segments_mode');
    written date := (SELECT max(as_of) FROM marts.customer_segment_days);
BEGIN
    IF mode IN ('changes', 'day', 'again') THEN
        CREATE TEMP TABLE segment_moved (customer_id text, present boolean, had boolean) ON COMMIT DROP;
        IF mode = 'changes' THEN
            INSERT INTO segment_moved
            SELECT c.customer_id, r.customer_id IS NOT NULL, s.customer_id IS NOT NULL
            FROM segment_candidates c
            LEFT JOIN segment_rows r USING (customer_id)
            LEFT JOIN LATERAL (   -- the candidate's open span, by index
                SELECT * FROM marts.customer_segment_spans o
                WHERE o.customer_id = c.customer_id AND o.valid_to = 'infinity' LIMIT 1
            ) s ON true
            WHERE (r.segment, r.is_new_subscriber, r.is_new_customer, r.is_repeat, r.is_vip, r.lifecycle,
                   r.is_one_time_buyer, r.orders, r.revenue_365d, r.last_order_at, r.likely_to_churn,
                   r.high_predicted_value)
                  IS DISTINCT FROM
                  (s.segment, s.is_new_subscriber, s.is_new_customer, s.is_repeat, s.is_vip, s.lifecycle,
                   s.is_one_time_buyer, s.orders, s.revenue_365d, s.last_order_at, s.likely_to_churn,
                   s.high_predicted_value);
        ELSE
            INSERT INTO segment_moved
            SELECT customer_id, r.customer_id IS NOT NULL, s.customer_id IS NOT NULL
            FROM segment_rows r
            FULL JOIN (SELECT * FROM marts.customer_segment_spans WHERE valid_to = 'infinity') s
                USING (customer_id)
            WHERE (r.segment, r.is_new_subscriber, r.is_new_customer, r.is_repeat, r.is_vip, r.lifecycle,
                   r.is_one_time_buyer, r.orders, r.revenue_365d, r.last_order_at, r.likely_to_churn,
                   r.high_predicted_value)
                  IS DISTINCT FROM
                  (s.segment, s.is_new_subscriber, s.is_new_customer, s.is_repeat, s.is_vip, s.lifecycle,
                   s.is_one_time_buyer, s.orders, s.revenue_365d, s.last_order_at, s.likely_to_churn,
                   s.high_predicted_value);
        END IF;
        ANALYZE segment_moved;
        -- The moved customers' open spans by key (= ANY of their ids), not a hash join over every span.
        DELETE FROM marts.customer_segment_spans s   -- (again) written on this day before: replaced
        WHERE s.customer_id = ANY (ARRAY(SELECT customer_id FROM segment_moved WHERE had))
          AND s.valid_to = 'infinity' AND s.valid_from = to_day;
        UPDATE marts.customer_segment_spans s SET valid_to = to_day
        WHERE s.customer_id = ANY (ARRAY(SELECT customer_id FROM segment_moved WHERE had))
          AND s.valid_to = 'infinity';
        INSERT INTO marts.customer_segment_spans
        SELECT r.customer_id, to_day, 'infinity', r.segment, r.is_new_subscriber, r.is_new_customer,
               r.is_repeat, r.is_vip, r.lifecycle, r.is_one_time_buyer, r.orders, r.revenue_365d,
               r.last_order_at, r.likely_to_churn, r.high_predicted_value
        FROM segment_rows r JOIN segment_moved m USING (customer_id)
        WHERE m.present;
        IF mode = 'again' THEN   -- a new row equal to the span that ends on the day carries it on
            PERFORM marts.join_segment_spans(to_day);
        END IF;
    ELSE
        CREATE TEMP TABLE segment_cut ON COMMIT DROP AS
        SELECT * FROM marts.customer_segment_spans WHERE valid_from <= to_day AND valid_to > from_day;
        DELETE FROM marts.customer_segment_spans WHERE valid_from <= to_day AND valid_to > from_day;
        INSERT INTO marts.customer_segment_spans
        SELECT customer_id, valid_from, from_day, segment, is_new_subscriber, is_new_customer, is_repeat,
               is_vip, lifecycle, is_one_time_buyer, orders, revenue_365d, last_order_at, likely_to_churn,
               high_predicted_value
        FROM segment_cut WHERE valid_from < from_day
        UNION ALL
        SELECT customer_id, to_day + 1, valid_to, segment, is_new_subscriber, is_new_customer, is_repeat,
               is_vip, lifecycle, is_one_time_buyer, orders, revenue_365d, last_order_at, likely_to_churn,
               high_predicted_value
        FROM segment_cut WHERE valid_to > to_day + 1 AND to_day < written;
        INSERT INTO marts.customer_segment_spans
        SELECT customer_id, min(as_of),
               CASE WHEN max(as_of) = to_day AND (written IS NULL OR to_day >= written) THEN 'infinity'
                    ELSE max(as_of) + 1 END,
               segment, is_new_subscriber, is_new_customer, is_repeat, is_vip, lifecycle, is_one_time_buyer,
               orders, revenue_365d, last_order_at, likely_to_churn, high_predicted_value
        FROM (SELECT r.*,
                     r.as_of - (row_number() OVER (
                         PARTITION BY customer_id, segment, is_new_subscriber, is_new_customer, is_repeat,
                                      is_vip, lifecycle, is_one_time_buyer, orders, revenue_365d,
                                      last_order_at, likely_to_churn, high_predicted_value
                         ORDER BY as_of))::int AS run
              FROM segment_rows r) x
        GROUP BY customer_id, run, segment, is_new_subscriber, is_new_customer, is_repeat, is_vip, lifecycle,
                 is_one_time_buyer, orders, revenue_365d, last_order_at, likely_to_churn, high_predicted_value;
        ANALYZE marts.customer_segment_spans;  -- many rows may have been cut and written
        -- Join the spans that meet an equal one where the written days begin, then where they end.
        PERFORM marts.join_segment_spans(from_day);
        PERFORM marts.join_segment_spans(to_day + 1);
    END IF;
    INSERT INTO marts.customer_segment_days
    SELECT generate_series(from_day, to_day, interval '1 day')::date
    ON CONFLICT DO NOTHING;

    -- The latest day written: what it computed from the touched customers is read.
    IF mode = 'changes' THEN
        UPDATE marts.customer_segment_state SET as_of = to_day;
    ELSIF written IS NULL OR to_day >= written THEN
        INSERT INTO marts.customer_segment_state (as_of, settings, fit)
        VALUES (to_day, marts.segment_settings(), marts.segment_fit(to_day))
        ON CONFLICT (one_row) DO UPDATE
            SET as_of = excluded.as_of, settings = excluded.settings, fit = excluded.fit;
    END IF;
    IF mode <> 'days' OR written IS NULL OR to_day >= written THEN
        DELETE FROM marts.customer_segment_touched
        WHERE id <= current_setting('marts.segments_seen')::bigint;
    END IF;
END $$;
