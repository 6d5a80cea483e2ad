-- Cart folding inside PostgreSQL: one statement (one round trip, one transaction) per intake event.
--
-- ops.record_cart_event(source, event) locks the cart, refuses another channel's event, stores
-- the event once per event_id and folds it into ops.carts / ops.cart_items:
--   * later than every event the cart has seen (the usual case): applied to the stored state,
--     work bounded by the cart's items, not its history;
--   * a new cart: created from the event;
--   * earlier (late or out of order): the cart is refolded from all its events.
-- Events are ordered by (occurred_at, event_id in code-point order, COLLATE "C"), so the result
-- never depends on arrival order. The event is the validated CartEvent as JSON (email already
-- normalised). Returns 'new', 'duplicate' or 'foreign:<channel>' (the cart is another channel's:
-- nothing stored).

CREATE OR REPLACE FUNCTION ops.cart_apply_event(p_cart text, e jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_type text := e->>'type';
    v_at timestamptz := (e->>'occurred_at')::timestamptz;
    v_item jsonb := e->'item';
    v_qty integer := (e->'item'->>'quantity')::integer;
BEGIN
    -- a whole-cart snapshot replaces the items (a SKU listed twice: the last one wins)
    IF jsonb_typeof(e->'items') = 'array' THEN
        DELETE FROM ops.cart_items WHERE cart_id = p_cart;
        INSERT INTO ops.cart_items (cart_id, sku_id, product_id, name, variant, image_url, product_url, quantity, unit_price)
        SELECT DISTINCT ON (i->>'sku_id') p_cart, i->>'sku_id', i->>'product_id', i->>'name', i->>'variant',
               i->>'image_url', i->>'product_url', (i->>'quantity')::integer, (i->>'unit_price')::numeric
        FROM jsonb_array_elements(e->'items') WITH ORDINALITY AS x(i, n)
        ORDER BY i->>'sku_id', n DESC;
    END IF;
    IF v_type = 'item_added' THEN
        INSERT INTO ops.cart_items (cart_id, sku_id, product_id, name, variant, image_url, product_url, quantity, unit_price)
        VALUES (p_cart, v_item->>'sku_id', v_item->>'product_id', v_item->>'name', v_item->>'variant',
                v_item->>'image_url', v_item->>'product_url', v_qty, (v_item->>'unit_price')::numeric)
        ON CONFLICT (cart_id, sku_id) DO UPDATE SET
            product_id = EXCLUDED.product_id, name = EXCLUDED.name, variant = EXCLUDED.variant,
            image_url = EXCLUDED.image_url, product_url = EXCLUDED.product_url,
            unit_price = EXCLUDED.unit_price, quantity = ops.cart_items.quantity + EXCLUDED.quantity;
    ELSIF v_type = 'item_removed' THEN
        UPDATE ops.cart_items SET quantity = quantity - v_qty
        WHERE cart_id = p_cart AND sku_id = v_item->>'sku_id' AND quantity > v_qty;
        IF NOT FOUND THEN
            DELETE FROM ops.cart_items WHERE cart_id = p_cart AND sku_id = v_item->>'sku_id';
        END IF;
    END IF;
    UPDATE ops.carts c SET
        last_activity_at = v_at,
        email = coalesce(e->>'email', c.email),
        customer_id = coalesce(nullif(e->>'customer_id', ''), c.customer_id),
        currency = coalesce(e->>'currency', 'USD'),
        checkout_started_at = CASE WHEN v_type = 'checkout_started' THEN coalesce(c.checkout_started_at, v_at)
                                   ELSE c.checkout_started_at END,
        order_id = CASE WHEN v_type = 'order_completed' AND c.converted_at IS NULL THEN e->>'order_id' ELSE c.order_id END,
        order_total = CASE WHEN v_type = 'order_completed' AND c.converted_at IS NULL THEN (e->>'order_total')::numeric
                           ELSE c.order_total END,
        converted_at = CASE WHEN v_type = 'order_completed' AND c.converted_at IS NULL THEN v_at ELSE c.converted_at END,
        last_event_id = e->>'event_id',
        item_count = s.item_count,
        subtotal = s.subtotal,
        product_url = s.product_url,
        updated_at = now()
    FROM (
        SELECT coalesce(sum(quantity), 0)::integer AS item_count,
               coalesce(sum(unit_price * quantity), 0) AS subtotal,
               (SELECT i.product_url FROM ops.cart_items i
                WHERE i.cart_id = p_cart AND i.product_url <> ''
                ORDER BY i.sku_id COLLATE "C" LIMIT 1) AS product_url
        FROM ops.cart_items WHERE cart_id = p_cart
    ) s
    WHERE c.cart_id = p_cart;
END
$$;

CREATE OR REPLACE FUNCTION ops.cart_refold(p_cart text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    DELETE FROM ops.cart_items WHERE cart_id = p_cart;
    UPDATE ops.carts SET email = NULL, customer_id = NULL, currency = 'USD', checkout_started_at = NULL,
        converted_at = NULL, order_id = NULL, order_total = NULL, last_event_id = NULL,
        created_at = (SELECT min(occurred_at) FROM ops.cart_events WHERE cart_id = p_cart)
    WHERE cart_id = p_cart;
    FOR r IN SELECT payload FROM ops.cart_events WHERE cart_id = p_cart
             ORDER BY occurred_at, event_id COLLATE "C" LOOP
        PERFORM ops.cart_apply_event(p_cart, r.payload);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION ops.record_cart_event(p_source text, e jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_cart text := e->>'cart_id';
    v_event text := e->>'event_id';
    v_at timestamptz := (e->>'occurred_at')::timestamptz;
    c record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ops.carts:' || v_cart));
    SELECT channel, last_activity_at, last_event_id INTO c FROM ops.carts WHERE cart_id = v_cart;
    IF FOUND AND c.channel <> p_source THEN
        RETURN 'foreign:' || c.channel;
    END IF;
    INSERT INTO ops.cart_events (event_id, cart_id, type, source, occurred_at, payload)
    VALUES (v_event, v_cart, e->>'type', p_source, v_at, e)
    ON CONFLICT (event_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN 'duplicate';
    END IF;
    IF c.channel IS NULL THEN
        INSERT INTO ops.carts (cart_id, channel, created_at, last_activity_at)
        VALUES (v_cart, p_source, v_at, v_at);
        PERFORM ops.cart_apply_event(v_cart, e);
    ELSIF c.last_event_id IS NOT NULL
          AND (v_at, v_event COLLATE "C") > (c.last_activity_at, c.last_event_id COLLATE "C") THEN
        PERFORM ops.cart_apply_event(v_cart, e);
    ELSE
        PERFORM ops.cart_refold(v_cart);
    END IF;
    RETURN 'new';
END
$$;
