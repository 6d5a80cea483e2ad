-- Cart folding inside PostgreSQL: one statement (one round trip) per cart of an intake request.
--
-- ops.record_cart_events(source, events) takes one cart's events (a JSON array, each the
-- validated CartEvent as JSON, email already normalised), locks the cart, refuses another
-- channel's events, stores each event once per event_id and folds the new ones into the cart:
--   * an event later than every event the cart has seen (the usual case) is applied to the
--     state read once from ops.carts: work bounded by the cart's items, not its history;
--   * an event for a new cart creates it;
--   * an earlier one (late or out of order) refolds the cart from all its events.
-- The cart row is written once per call, not once per event: a busy cart leaves one row
-- version per request, not one per event. Events are ordered by (occurred_at, event_id in
-- code-point order, COLLATE "C"), so the result never depends on arrival order.
-- Returns one status per event, in order: 'new', 'duplicate', or 'foreign:<channel>' (the cart
-- is another channel's; nothing stored).

-- One event applied to a cart: its items in ops.cart_items, its header in the row value ``c``.
CREATE OR REPLACE FUNCTION ops.cart_apply_event(c ops.carts, e jsonb) RETURNS ops.carts
LANGUAGE plpgsql AS $$
DECLARE
    v_type text := e->>'type';
    v_at timestamptz := (e->>'occurred_at')::timestamptz;
    v_item jsonb := e->'item';
    v_qty integer := (e->'item'->>'quantity')::integer;
BEGIN
    -- a whole-cart snapshot replaces the items (a SKU listed twice: the last one wins)
    IF jsonb_typeof(e->'items') = 'array' THEN
        DELETE FROM ops.cart_items WHERE cart_id = c.cart_id;
        INSERT INTO ops.cart_items (cart_id, sku_id, product_id, name, variant, image_url, product_url, quantity, unit_price)
        SELECT DISTINCT ON (i->>'sku_id') c.cart_id, i->>'sku_id', i->>'product_id', i->>'name', i->>'variant',
               i->>'image_url', i->>'product_url', (i->>'quantity')::integer, (i->>'unit_price')::numeric
        FROM jsonb_array_elements(e->'items') WITH ORDINALITY AS x(i, n)
        ORDER BY i->>'sku_id', n DESC;
    END IF;
    IF v_type = 'item_added' THEN
        INSERT INTO ops.cart_items (cart_id, sku_id, product_id, name, variant, image_url, product_url, quantity, unit_price)
        VALUES (c.cart_id, v_item->>'sku_id', v_item->>'product_id', v_item->>'name', v_item->>'variant',
                v_item->>'image_url', v_item->>'product_url', v_qty, (v_item->>'unit_price')::numeric)
        ON CONFLICT (cart_id, sku_id) DO UPDATE SET
            product_id = EXCLUDED.product_id, name = EXCLUDED.name, variant = EXCLUDED.variant,
            image_url = EXCLUDED.image_url, product_url = EXCLUDED.product_url,
            unit_price = EXCLUDED.unit_price, quantity = ops.cart_items.quantity + EXCLUDED.quantity;
    ELSIF v_type = 'item_removed' THEN
        UPDATE ops.cart_items SET quantity = quantity - v_qty
        WHERE cart_id = c.cart_id AND sku_id = v_item->>'sku_id' AND quantity > v_qty;
        IF NOT FOUND THEN
            DELETE FROM ops.cart_items WHERE cart_id = c.cart_id AND sku_id = v_item->>'sku_id';
        END IF;
    END IF;
    c.last_activity_at := v_at;
    c.email := coalesce(e->>'email', c.email);
    c.customer_id := coalesce(nullif(e->>'customer_id', ''), c.customer_id);
    c.currency := coalesce(e->>'currency', 'USD');
    IF v_type = 'checkout_started' THEN
        c.checkout_started_at := coalesce(c.checkout_started_at, v_at);
    ELSIF v_type = 'order_completed' AND c.converted_at IS NULL THEN
        c.converted_at := v_at;
        c.order_id := e->>'order_id';
        c.order_total := (e->>'order_total')::numeric;
    END IF;
    c.last_event_id := e->>'event_id';
    RETURN c;
END
$$;

-- The folded header written back, with the figures that follow from the items. (plpgsql, not
-- sql: its plan is kept for the session instead of being made again on every call.)
CREATE OR REPLACE FUNCTION ops.cart_write(c ops.carts) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ops.carts t SET
        email = c.email, customer_id = c.customer_id, currency = c.currency, created_at = c.created_at,
        last_activity_at = c.last_activity_at, checkout_started_at = c.checkout_started_at,
        converted_at = c.converted_at, order_id = c.order_id, order_total = c.order_total,
        last_event_id = c.last_event_id, item_count = s.item_count, subtotal = s.subtotal,
        product_url = s.product_url, updated_at = now()
    FROM (
        SELECT coalesce(sum(i.quantity), 0)::integer AS item_count,
               coalesce(sum(i.unit_price * i.quantity), 0) AS subtotal,
               (SELECT p.product_url FROM ops.cart_items p
                WHERE p.cart_id = c.cart_id AND p.product_url <> ''
                ORDER BY p.sku_id COLLATE "C" LIMIT 1) AS product_url
        FROM ops.cart_items i WHERE i.cart_id = c.cart_id
    ) s
    WHERE t.cart_id = c.cart_id;
END
$$;

-- The cart folded again from all of its stored events (recovery columns kept).
CREATE OR REPLACE FUNCTION ops.cart_refold(c ops.carts) RETURNS ops.carts
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    DELETE FROM ops.cart_items WHERE cart_id = c.cart_id;
    c.email := NULL; c.customer_id := NULL; c.currency := 'USD'; c.checkout_started_at := NULL;
    c.converted_at := NULL; c.order_id := NULL; c.order_total := NULL; c.last_event_id := NULL;
    c.created_at := NULL;
    FOR r IN SELECT payload, occurred_at FROM ops.cart_events WHERE cart_id = c.cart_id
             ORDER BY occurred_at, event_id COLLATE "C" LOOP
        c.created_at := coalesce(c.created_at, r.occurred_at);
        c := ops.cart_apply_event(c, r.payload);
    END LOOP;
    RETURN c;
END
$$;

CREATE OR REPLACE FUNCTION ops.record_cart_events(p_source text, p_events jsonb) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    v_cart text := p_events->0->>'cart_id';
    c ops.carts;
    e jsonb;
    v_at timestamptz;
    v_event text;
    v_out text[] := '{}';
    dirty boolean := false;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ops.carts:' || v_cart));
    SELECT * INTO c FROM ops.carts WHERE cart_id = v_cart;
    IF c.channel IS NOT NULL AND c.channel <> p_source THEN
        RETURN array_fill('foreign:' || c.channel, ARRAY[jsonb_array_length(p_events)]);
    END IF;
    FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
        IF e->>'cart_id' IS DISTINCT FROM v_cart THEN
            RAISE EXCEPTION 'ops.record_cart_events takes the events of one cart';
        END IF;
        v_at := (e->>'occurred_at')::timestamptz;
        v_event := e->>'event_id';
        INSERT INTO ops.cart_events (event_id, cart_id, type, source, occurred_at, payload)
        VALUES (v_event, v_cart, e->>'type', p_source, v_at, e)
        ON CONFLICT (event_id) DO NOTHING;
        IF NOT FOUND THEN
            v_out := v_out || 'duplicate'::text;
            CONTINUE;
        END IF;
        v_out := v_out || 'new'::text;
        IF c.channel IS NULL THEN
            INSERT INTO ops.carts (cart_id, channel, created_at, last_activity_at)
            VALUES (v_cart, p_source, v_at, v_at)
            RETURNING * INTO c;
            c := ops.cart_apply_event(c, e);
        ELSIF c.last_event_id IS NOT NULL
              AND (v_at, v_event COLLATE "C") > (c.last_activity_at, c.last_event_id COLLATE "C") THEN
            c := ops.cart_apply_event(c, e);
        ELSE
            c := ops.cart_refold(c);
        END IF;
        dirty := true;
    END LOOP;
    IF dirty THEN
        PERFORM ops.cart_write(c);
    END IF;
    RETURN v_out;
END
$$;
