-- Website buyers: the checkout email, and a phone or storefront customer id when the payload has one.
CREATE TEMP TABLE stg_identities_website (source, record_id, day, email, phone, platform_type, platform_id, seen_at,
                                          accepts_marketing, subscribed_at)
ON COMMIT DROP AS
SELECT 'website', o.order_id, o.partition_date,
       core.norm_email(o.email),
       core.e164(p.phone, (SELECT current_setting('marts.default_cc'))),
       'website_customer', p.customer_id,
       o.created_at, o.accepts_marketing,
       CASE WHEN o.accepts_marketing THEN o.created_at END
FROM refresh_website_orders o
CROSS JOIN LATERAL core.website_payload(o.payload) p;   -- its fields, read once (migration 248)
