-- The order tables' writers log the days they change themselves (marketing_pipeline/warehouse/loader.py
-- ChangeLog): a loader knows the partitions it replaces and the days of the rows it COPYs, a merge
-- the days of the orders it writes and replaces. The statement triggers of migration 110 kept every
-- written row in a transition table to find those days, which cost a million-row load about 2 s
-- (a row trigger, even one that skips its rows, costs about as much). On these tables they give way
-- to a statement trigger without transition tables: a writer that logs its days sets
-- marts.days_logged to 'on' while it writes and the trigger does nothing; any other writer (a
-- hand-written statement) gets the whole table logged as changed, so the marts downstream rebuild
-- it in full: never stale, only slower. TRUNCATE still logs the whole table.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['raw.tiktok_shop_orders', 'raw.tiktok_shop_order_lines', 'raw.website_orders',
                             'raw.website_order_lines'] LOOP
        EXECUTE format('DROP TRIGGER marts_log_ins ON %s', t);
        EXECUTE format('DROP TRIGGER marts_log_upd ON %s', t);
        EXECUTE format('DROP TRIGGER marts_log_del ON %s', t);
        EXECUTE format('CREATE TRIGGER marts_log_whole AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH STATEMENT'
                       ' WHEN (current_setting(''marts.days_logged'', true) IS DISTINCT FROM ''on'')'
                       ' EXECUTE FUNCTION marts.log_whole_table()', t);
    END LOOP;
END $$;
