-- The audits of core.customers and core.orders now run before their builder commits and, in a
-- refresh, read only what it wrote (marketing_pipeline/marts/gates.py): that relies on every stored
-- row having passed an audit. Rows stored before may have been committed by a run whose check
-- failed, so both builders forget their state: their next run is a full rebuild, audited whole.
DELETE FROM marts.refresh_state WHERE target IN ('core_customers', 'core_orders');
