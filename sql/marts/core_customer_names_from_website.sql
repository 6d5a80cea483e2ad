-- Website: the checkout's first and last name.
INSERT INTO stg_customer_names (order_key, first_name, last_name)
SELECT 'website:' || o.order_id,
       nullif(btrim(o.payload ->> 'first_name'), ''),
       nullif(btrim(o.payload ->> 'last_name'), '')
FROM refresh_website_orders o
WHERE coalesce(o.payload ->> 'first_name', o.payload ->> 'last_name') IS NOT NULL;
