-- Staging for core.customer_names: the name on each order that gives one (per present source).
CREATE TEMP TABLE stg_customer_names (
    order_key  text        NOT NULL,
    first_name text,
    last_name  text
) ON COMMIT DROP;
