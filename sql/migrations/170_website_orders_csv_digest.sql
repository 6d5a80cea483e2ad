-- A CSV re-import skips the orders stored exactly as the file has them without reading their rows:
-- the fast path keeps a 64-bit digest of the values each order and its lines were written from.
-- Null (the checked path, pushed orders): unknown, compared value by value. Whatever else rewrites
-- an order or its lines must set it to null (staging.py's update does).
ALTER TABLE raw.website_orders ADD COLUMN csv_digest bigint;
