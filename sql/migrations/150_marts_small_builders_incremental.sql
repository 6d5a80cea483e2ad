-- The small builders of the daily refresh rewrite only what changed too (marketing_pipeline/marts/scope.py):
-- core.sessions and core.content_daily the changed days of GA4 and TikTok content, core.customer_names
-- the customers whose orders changed, marts.source_coverage the changed days' row counts.

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['raw.ga4_traffic_daily', 'raw.tiktok_content_daily'] LOOP
        EXECUTE format('CREATE TRIGGER marts_log_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_new_days()', t);
        EXECUTE format('CREATE TRIGGER marts_log_upd AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows'
                       ' NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.log_both_days()', t);
        EXECUTE format('CREATE TRIGGER marts_log_del AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_old_days()', t);
        EXECUTE format('CREATE TRIGGER marts_log_trunc AFTER TRUNCATE ON %s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_whole_table()', t);
    END LOOP;
END $$;

-- The name given on each storefront order, with the customer it was resolved to: a refresh replaces
-- the changed days' rows and recomputes core.customer_names only for the customers they had or have.
CREATE TABLE core.order_names (
    order_key   text        NOT NULL,
    order_date  date        NOT NULL,
    customer_id text        NOT NULL,
    ordered_at  timestamptz NOT NULL,
    first_name  text,
    last_name   text
);
CREATE INDEX order_names_date_idx ON core.order_names (order_date);
CREATE INDEX order_names_customer_idx ON core.order_names (customer_id);
