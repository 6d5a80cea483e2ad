-- TikTok Shop buyers: the buyer email, the recipient phone and the TikTok user id of every order.
CREATE TEMP TABLE stg_identities_tiktok_shop (source, record_id, day, email, phone, platform_type, platform_id, seen_at,
                                              accepts_marketing, subscribed_at)
ON COMMIT DROP AS
SELECT 'tiktok_shop', o.order_id, o.partition_date,
       core.norm_email(o.buyer_email),
       core.e164(o.payload #>> '{recipient_address,phone_number}', (SELECT current_setting('marts.default_cc'))),
       'tiktok_user', o.buyer_user_id,
       o.created_at, NULL::boolean, NULL::timestamptz
FROM refresh_tiktok_shop_orders o;
