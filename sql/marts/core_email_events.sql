-- A full rebuild builds the key and the indexes once over the filled table; a refresh logs the days
-- of the events it wrote (those it removed are logged by core_email_events_stage.sql).
DO $$
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        INSERT INTO scope_changed
        SELECT DISTINCT event_date FROM core.email_events
        WHERE platform = 'klaviyo' AND source_date IN (SELECT day FROM scope_days WHERE key = 'klaviyo');
        IF EXISTS (SELECT 1 FROM scope_whole WHERE key = 'klaviyo') THEN
            INSERT INTO scope_changed SELECT DISTINCT event_date FROM core.email_events WHERE platform = 'klaviyo';
        END IF;
        INSERT INTO scope_changed
        SELECT DISTINCT event_date FROM core.email_events
        WHERE (platform, event_id) IN (SELECT 'customerio', s.delivery_id || ':' || t.event_type
                                       FROM scope_deliveries s CROSS JOIN customerio_event_types t);
    ELSE
        PERFORM marts.restore_indexes('core.email_events');
        ANALYZE core.email_events;
    END IF;
END $$;
