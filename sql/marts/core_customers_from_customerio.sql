-- Customer.io people, as the deliveries name them (their id and email).
CREATE TEMP TABLE stg_identities_customerio (source, record_id, day, email, phone, platform_type, platform_id, seen_at,
                                             accepts_marketing, subscribed_at)
ON COMMIT DROP AS
SELECT 'customerio', d.delivery_id, d.partition_date, core.norm_email(coalesce(d.email, d.recipient)), NULL,
       'customerio_person', d.customer_id, d.created_at, NULL::boolean, NULL::timestamptz
FROM refresh_customerio_deliveries d
WHERE d.customer_id IS NOT NULL OR d.email IS NOT NULL;
