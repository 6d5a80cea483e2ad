-- The core tables and marts are derived: a full rebuild makes them again from the raw tables. They
-- are UNLOGGED, so writing them costs no write-ahead log (logged, a rebuild wrote its rows twice:
-- the WAL of an insert is about 1.3 times the rows it writes).
--
-- What that gives up, and what keeps it safe:
-- - A server crash empties them (recovery resets unlogged tables; a clean shutdown keeps them).
--   marts.refresh_state and marts.rfm_snapshots, which say what those tables hold, are unlogged too:
--   they empty with them, so the next refresh rebuilds every table in full.
-- - marts.built_targets (logged) remembers which builders have ever built. A builder listed there
--   without a refresh_state row was emptied: segment snapshots and the syncs to the platforms refuse
--   to read it until the next refresh (marts.require_built).
-- - A streaming standby has no rows in them: read the marts from the primary.
-- What cannot be derived again stays logged: the identity maps (core.customer_keys and
-- core.order_names, where ids are only ever added), the segment snapshots kept day by day, the
-- prediction fits, and every raw, ops and activation table.
CREATE TABLE marts.built_targets (
    target text PRIMARY KEY    -- a builder (sql/marts target) that has built at least once
);
INSERT INTO marts.built_targets SELECT target FROM marts.refresh_state;

-- Raises when one of the builders named was emptied since it last built (an unbuilt one is not:
-- a new warehouse simply has nothing yet).
CREATE FUNCTION marts.require_built(VARIADIC targets text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    gone text;
BEGIN
    SELECT string_agg(b.target, ', ' ORDER BY b.target) INTO gone
    FROM marts.built_targets b
    WHERE b.target = ANY(targets)
      AND NOT EXISTS (SELECT 1 FROM marts.refresh_state s WHERE s.target = b.target);
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION 'the core tables of % are empty since they were last built (a database server crash '
                        'empties the unlogged core tables): run marts_refresh, which rebuilds them in full', gone
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END $$;

ALTER TABLE core.identity_records SET UNLOGGED;
ALTER TABLE core.customers SET UNLOGGED;
ALTER TABLE core.customer_names SET UNLOGGED;
ALTER TABLE core.orders SET UNLOGGED;
ALTER TABLE core.order_lines SET UNLOGGED;
ALTER TABLE core.customer_months SET UNLOGGED;
ALTER TABLE core.customer_totals SET UNLOGGED;
ALTER TABLE core.cohort_activity SET UNLOGGED;
ALTER TABLE core.email_events SET UNLOGGED;
ALTER TABLE core.sessions SET UNLOGGED;
ALTER TABLE core.content_daily SET UNLOGGED;
ALTER TABLE marts.attribution SET UNLOGGED;
ALTER TABLE marts.channel_daily SET UNLOGGED;
ALTER TABLE marts.email_daily SET UNLOGGED;
ALTER TABLE marts.funnel_daily SET UNLOGGED;
ALTER TABLE marts.cart_recovery_daily SET UNLOGGED;
ALTER TABLE marts.cohorts SET UNLOGGED;
ALTER TABLE marts.rfm_scores SET UNLOGGED;
ALTER TABLE marts.rfm_snapshots SET UNLOGGED;
ALTER TABLE marts.source_coverage SET UNLOGGED;
ALTER TABLE marts.refresh_state SET UNLOGGED;
