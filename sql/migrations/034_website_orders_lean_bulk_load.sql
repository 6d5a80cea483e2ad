-- CSV history imports COPY straight into raw.website_orders: keep each row cheap to write.
-- A CSV order has no payload (pushed orders keep theirs as received); where it came from is
-- ``source`` (csv:<file name>) and ``source_line`` (its first line in that file).
ALTER TABLE raw.website_orders ALTER COLUMN payload DROP NOT NULL, ADD COLUMN source_line integer;
UPDATE raw.website_orders SET source_line = (payload ->> 'first_line')::int, payload = NULL
WHERE source LIKE 'csv:%' AND payload ? 'first_line';
-- Nothing reads website orders through this index (readers scan the table or join on order_id).
DROP INDEX IF EXISTS raw.website_orders_partition_idx;
