-- core.orders' primary key is channel || ':' || source_order_id, as core_orders.sql writes it: said
-- here as a constraint, so the key itself keeps one row per source order. The blocking gate
-- "orders_keys_and_lines" then reads this constraint (and the key) from the catalog instead of
-- grouping every order on each refresh (about 0.7 s at a million orders, on the path of every
-- refresh); without it the gate counts, as before.
ALTER TABLE core.orders
    ADD CONSTRAINT orders_key_is_channel_and_id CHECK (order_key = channel || ':' || source_order_id);
