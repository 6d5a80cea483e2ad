"""The fold in PostgreSQL (``ops.record_cart_events``) against the fold in Python (``carts.fold``):
generated histories of every event type, delivered in order one at a time (applied to the stored
state), shuffled one at a time (late events refold) and as one shuffled batch, all end in the
state the Python fold gives: every cart column and every item. Ids mix case, digits and
non-ASCII so ordering ties are broken the same way in both (code points, ``COLLATE "C"``).
Bounded: 40 generated histories."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketing_pipeline.cart_recovery.carts import fold, record_events
from marketing_pipeline.cart_recovery.events import BadEvent, CartEvent
from marketing_pipeline.warehouse import connect

AT = datetime(2025, 3, 1, 12, tzinfo=UTC)
SKUS = ["a", "B", "b", "Z1", "é", "ß2"]  # Python and "C" order: B Z1 a b ß2 é; a locale's differs
ID_CHARS = "aAzZ09_é"

item = st.fixed_dictionaries(
    {
        "sku_id": st.sampled_from(SKUS),
        "name": st.sampled_from(["Serum", "Balm"]),
        "unit_price": st.sampled_from(["5.00", "12.50", "0.00"]),
        "quantity": st.integers(1, 3),
    },
    optional={
        "product_url": st.sampled_from(["https://shop.example/p/1", "https://shop.example/p/2"]),
        "variant": st.sampled_from(["30 ml", "50 ml"]),
    },
)
event = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "item_added",
                "item_added",
                "item_removed",
                "cart_updated",
                "contact_identified",
                "checkout_started",
                "order_completed",
                "product_viewed",
                "cart_created",
            ]
        ),
        "second": st.integers(0, 6),  # few distinct times: many ties, broken by event id
        "suffix": st.text(ID_CHARS, min_size=1, max_size=3),
        "item": item,
        "items": st.lists(item, max_size=3),
        "email": st.sampled_from(["Ann@Example.com", "bo@example.com"]),
        "customer_id": st.sampled_from(["", "u1", "u2"]),
        "currency": st.sampled_from(["USD", "EUR"]),
    }
)


def build(cart: str, raw: list[dict]) -> list[CartEvent]:
    out = []
    for n, r in enumerate(raw):
        kind = r["type"]
        fields = {"currency": r["currency"], "customer_id": r["customer_id"] or None}
        if kind in ("item_added", "item_removed", "product_viewed"):
            fields["item"] = r["item"]
        if kind == "cart_updated":
            fields["items"] = r["items"]
        if kind == "contact_identified":
            fields["email"] = r["email"]
        if kind == "order_completed":
            fields.update(order_id=f"o-{n}", order_total="10.00", email=r["email"])
        out.append(
            CartEvent(
                event_id=f"{cart}-{r['suffix']}-{n:03d}",
                type=kind,
                cart_id=cart,
                occurred_at=AT + timedelta(seconds=r["second"]),
                **fields,
            )
        )
    return out


def stored(conn, cart: str):
    head = conn.execute(
        "SELECT channel, created_at, last_activity_at, email, customer_id, currency, item_count, subtotal,"
        " product_url, checkout_started_at, converted_at, order_id, order_total, last_event_id"
        " FROM ops.carts WHERE cart_id = %s",
        (cart,),
    ).fetchone()
    items = conn.execute(
        "SELECT sku_id, product_id, name, variant, image_url, product_url, quantity, unit_price"
        ' FROM ops.cart_items WHERE cart_id = %s ORDER BY sku_id COLLATE "C"',
        (cart,),
    ).fetchall()
    return head, items


def expected(cart: str, events: list[CartEvent]):
    s = fold(cart, "website", events)
    head = (
        "website",
        s.created_at,
        s.last_activity_at,
        s.email,
        s.customer_id,
        s.currency,
        s.item_count,
        s.subtotal,
        s.product_url,
        s.checkout_started_at,
        s.converted_at,
        s.order_id,
        s.order_total,
        s.last_event_id,
    )
    items = [
        (i.sku_id, i.product_id, i.name, i.variant, i.image_url, i.product_url, i.quantity, i.unit_price)
        for i in (s.items[k] for k in sorted(s.items))
    ]
    return head, items


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
@given(raw=st.lists(event, min_size=1, max_size=25), seed=st.integers(0, 1000))
def test_the_sql_fold_equals_the_python_fold_whatever_the_delivery_order(warehouse_url, raw, seed):
    run = uuid.uuid4().hex[:6]
    carts = {mode: f"{mode}-{run}" for mode in ("in_order", "shuffled", "batch")}
    histories = {mode: build(cart, raw) for mode, cart in carts.items()}
    rng = random.Random(seed)
    with connect(warehouse_url) as conn:
        for e in sorted(histories["in_order"], key=lambda e: (e.occurred_at, e.event_id)):
            record_events(conn, [e], "website")
        shuffled = list(histories["shuffled"])
        rng.shuffle(shuffled)
        for e in shuffled:
            record_events(conn, [e], "website")
        batch = list(histories["batch"])
        rng.shuffle(batch)
        record_events(conn, batch, "website")
        for mode, cart in carts.items():
            assert stored(conn, cart) == expected(cart, histories[mode]), mode


def _added(cart: str, n: int, second: int, qty: int = 1) -> CartEvent:
    return CartEvent(
        event_id=f"{cart}-{n:06d}",
        type="item_added",
        cart_id=cart,
        occurred_at=AT + timedelta(seconds=second),
        item={"sku_id": "S", "name": "Serum", "unit_price": "5.00", "quantity": qty},
    )


def test_one_event_on_a_long_cart_does_not_refold_its_history(warehouse_url, conn):
    """The attack: a cart with a long history re-folded on every event (1.3-1.5 s a request at
    20,000 events). A later event must be applied to the stored state without reading the
    history; shown by altering an old stored event, which only a refold would see."""
    cart = f"long-{uuid.uuid4().hex[:6]}"
    with connect(warehouse_url) as c:
        record_events(c, [_added(cart, n, n) for n in range(1, 301)], "website")
    conn.execute(
        "UPDATE ops.cart_events SET payload = jsonb_set(payload, '{item,quantity}', '50')"
        " WHERE event_id = %s",
        (f"{cart}-000001",),
    )
    with connect(warehouse_url) as c:
        record_events(c, [_added(cart, 301, 301)], "website")  # later than all: applied
    assert conn.execute("SELECT item_count FROM ops.carts WHERE cart_id = %s", (cart,)).fetchone() == (301,)
    with connect(warehouse_url) as c:
        record_events(c, [_added(cart, 0, 0)], "website")  # earlier than all: the history is refolded
    assert conn.execute("SELECT item_count FROM ops.carts WHERE cart_id = %s", (cart,)).fetchone() == (351,)


def test_another_channels_event_on_a_cart_is_refused_and_its_batch_rolled_back(warehouse_url, conn):
    """Defence in depth behind the intake's ``tts:`` check: the fold itself refuses to let one
    channel change another's cart, and nothing of the refused batch is stored."""
    cart = f"tts:{uuid.uuid4().int % 10**12}"
    with connect(warehouse_url) as c:
        record_events(c, [_added(cart, 1, 1)], "tiktok_shop")
    other = f"a-{uuid.uuid4().hex[:6]}"  # sorts first: recorded, then rolled back
    with pytest.raises(BadEvent, match="belongs to the tiktok_shop channel"):
        with connect(warehouse_url) as c:
            record_events(c, [_added(other, 1, 1), _added(cart, 2, 2, qty=9)], "website")
    assert conn.execute(
        "SELECT item_count, channel FROM ops.carts WHERE cart_id = %s", (cart,)
    ).fetchone() == (
        1,
        "tiktok_shop",
    )
    assert conn.execute(
        "SELECT count(*) FROM ops.cart_events WHERE cart_id IN (%s, %s)", (cart, other)
    ).fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM ops.carts WHERE cart_id = %s", (other,)).fetchone() == (0,)
