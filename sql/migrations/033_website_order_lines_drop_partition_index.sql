-- Nothing reads raw.website_order_lines by partition_date (readers scan it whole or join on
-- order_id, which the primary key serves); the index only slowed every bulk import.
DROP INDEX IF EXISTS raw.website_order_lines_partition_idx;
