-- What a website order's payload says, in one place for every reader (sql/marts/core_*_from_website.sql):
-- the phone (its own, the customer's, the shipping address's), the storefront customer id, the
-- status, the cancellation and the refunded amount. The payload is read once per order: a
-- storefront's order JSON is stored compressed, and each ->> on it would decompress it again (2 s of
-- a full rebuild of 580k website orders with 3 KB payloads). A payload that is not an object says
-- nothing. One SELECT in SQL: PostgreSQL inlines it into the query that calls it.
CREATE FUNCTION core.website_payload(payload jsonb)
RETURNS TABLE (phone text, customer_id text, status text, cancelled_at text, refunded_amount text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p.phone, p.customer ->> 'phone', p.shipping_address ->> 'phone'),
           coalesce(p.customer_id, p.customer ->> 'id'),
           coalesce(p.status, p.financial_status),
           p.cancelled_at,
           coalesce(p.refunded_amount, p.total_refunded)
    FROM jsonb_to_record(CASE WHEN jsonb_typeof(payload) = 'object' THEN payload END)
        AS p(phone text, customer jsonb, shipping_address jsonb, customer_id text, status text,
             financial_status text, cancelled_at text, refunded_amount text, total_refunded text)
$$;
