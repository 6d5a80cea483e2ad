-- TikTok Shop buyers: the buyer email, the recipient phone and the TikTok user id of every order.
INSERT INTO stg_identities
SELECT 'tiktok_shop', o.order_id,
       core.norm_email(o.buyer_email),
       core.e164(o.payload #>> '{recipient_address,phone_number}', current_setting('marts.default_cc')),
       'tiktok_user', o.buyer_user_id,
       o.created_at, NULL, NULL
FROM raw.tiktok_shop_orders o;
