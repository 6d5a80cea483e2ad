-- TikTok Shop: the recipient's name on the shipping address.
INSERT INTO stg_customer_names (order_key, first_name, last_name)
SELECT 'tiktok_shop:' || o.order_id,
       nullif(btrim(o.payload #>> '{recipient_address,first_name}'), ''),
       nullif(btrim(o.payload #>> '{recipient_address,last_name}'), '')
FROM refresh_tiktok_shop_orders o
WHERE coalesce(o.payload #>> '{recipient_address,first_name}', o.payload #>> '{recipient_address,last_name}') IS NOT NULL;
