-- core.email_events is rebuilt from every present email platform (core_email_events_from_<source>.sql),
-- each resolving the customer in its one write to the table. Millions of rows: a full rebuild fills
-- the table without its key and indexes, which are built once afterwards (core_email_events.sql),
-- several times faster than maintaining them row by row.
-- A refresh replaces only the events read from the changed raw days: Klaviyo's by source day (all of
-- them when profiles, campaigns or flows changed), Customer.io's by delivery (every copy of a delivery
-- on a changed day or read from one before, since the later copy wins; all of them when campaign
-- names changed). refresh_customerio_deliveries reads scope_deliveries (marketing_pipeline/marts/scope.py).
CREATE TEMP TABLE customerio_event_types (event_type) ON COMMIT DROP AS
VALUES ('sent'), ('delivered'), ('open'), ('click'), ('bounce'), ('unsubscribe'), ('spam'), ('conversion');
DO $$
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        IF EXISTS (SELECT 1 FROM scope_whole WHERE key = 'customerio') THEN
            INSERT INTO scope_deliveries SELECT DISTINCT delivery_id FROM raw.customerio_deliveries;
            WITH gone AS (DELETE FROM core.email_events WHERE platform = 'customerio' RETURNING event_date)
            INSERT INTO scope_changed SELECT DISTINCT event_date FROM gone;
        ELSE
            INSERT INTO scope_deliveries
            SELECT delivery_id FROM raw.customerio_deliveries
            WHERE partition_date IN (SELECT day FROM scope_days WHERE key = 'customerio')
            UNION
            SELECT left(event_id, length(event_id) - length(event_type) - 1) FROM core.email_events
            WHERE platform = 'customerio' AND source_date IN (SELECT day FROM scope_days WHERE key = 'customerio');
        END IF;
        ANALYZE scope_deliveries;
        IF EXISTS (SELECT 1 FROM scope_whole WHERE key = 'klaviyo') THEN
            WITH gone AS (DELETE FROM core.email_events WHERE platform = 'klaviyo' RETURNING event_date)
            INSERT INTO scope_changed SELECT DISTINCT event_date FROM gone;
        ELSE
            WITH gone AS (
                DELETE FROM core.email_events
                WHERE platform = 'klaviyo' AND source_date IN (SELECT day FROM scope_days WHERE key = 'klaviyo')
                RETURNING event_date
            )
            INSERT INTO scope_changed SELECT DISTINCT event_date FROM gone;
        END IF;
        WITH gone AS (
            DELETE FROM core.email_events
            WHERE (platform, event_id) IN (SELECT 'customerio', s.delivery_id || ':' || t.event_type
                                           FROM scope_deliveries s CROSS JOIN customerio_event_types t)
            RETURNING event_date
        )
        INSERT INTO scope_changed SELECT DISTINCT event_date FROM gone;
    ELSE
        TRUNCATE core.email_events;
        PERFORM marts.set_aside_indexes('core.email_events');
    END IF;
END $$;
