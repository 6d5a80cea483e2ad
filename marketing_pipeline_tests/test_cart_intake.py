"""Web intake over loopback HTTP: write key, validation + dead letters, 413, duplicates and
out-of-order delivery, orders, and TikTok Shop webhooks with their signature."""

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from marketing_pipeline.cart_recovery.tiktok import cart_id_for
from marketing_pipeline.sandbox.credentials import WEBSITE_WRITE_KEY as SANDBOX_WRITE_KEY
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sources.tiktok_shop.signing import sign_webhook
from marketing_pipeline.web.app import create_app
from marketing_pipeline_tests.conftest import TODAY

KEY = {"Authorization": f"Bearer {SANDBOX_WRITE_KEY}"}
AT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture(scope="module")
def web():
    with BackgroundServer(create_app()) as server:
        yield server.url


@pytest.fixture(autouse=True)
def write_key(monkeypatch):
    monkeypatch.setenv("WEBSITE_WRITE_KEY", SANDBOX_WRITE_KEY)  # read per request


def test_without_a_configured_write_key_the_intake_refuses_everything(web, monkeypatch):
    monkeypatch.delenv("WEBSITE_WRITE_KEY")
    r = httpx.post(f"{web}/intake/cart-events", json=[], headers=KEY)
    assert r.status_code == 503
    assert "WEBSITE_WRITE_KEY" in r.json()["error"]


def cart_events(cart: str, email: str = "buyer@example.com") -> list[dict]:
    def ev(n: int, kind: str, **kw) -> dict:
        return {
            "event_id": f"{cart}-e{n:02d}",
            "type": kind,
            "cart_id": cart,
            "occurred_at": (AT + timedelta(minutes=n)).isoformat(),
            **kw,
        }

    serum = {
        "sku_id": "S1",
        "name": "Glow Serum",
        "variant": "30 ml",
        "unit_price": "34.00",
        "image_url": "https://shop.example/s1.jpg",
    }
    oil = {"sku_id": "O1", "name": "Body Oil", "variant": "Rose", "unit_price": "32.00"}
    return [
        ev(1, "cart_created"),
        ev(2, "item_added", item={**serum, "quantity": 2}),
        ev(3, "item_added", item=oil),
        ev(4, "item_removed", item={**serum, "quantity": 1}),
        ev(5, "contact_identified", email=email),
        ev(6, "item_added", item={**oil, "quantity": 2}),
        ev(7, "checkout_started"),
    ]


def cart_state(conn, cart: str):
    head = conn.execute(
        "SELECT email, item_count, subtotal, created_at, last_activity_at, checkout_started_at,"
        " converted_at FROM ops.carts WHERE cart_id = %s",
        (cart,),
    ).fetchone()
    items = conn.execute(
        "SELECT sku_id, quantity, unit_price FROM ops.cart_items WHERE cart_id = %s ORDER BY 1", (cart,)
    ).fetchall()
    return head, items


def test_events_build_the_cart(web, warehouse_url, conn):
    cart = f"c-{uuid.uuid4().hex[:8]}"
    r = httpx.post(f"{web}/intake/cart-events", json={"events": cart_events(cart)}, headers=KEY)
    assert r.status_code == 202 and r.json() == {"accepted": 7, "duplicates": 0, "carts": 1}
    head, items = cart_state(conn, cart)
    assert (
        head[:3] == ("buyer@example.com", 4, 130) and head[5] == AT + timedelta(minutes=7) and head[6] is None
    )
    assert items == [("O1", 3, 32), ("S1", 1, 34)]
    assert conn.execute("SELECT count(*) FROM ops.cart_events WHERE cart_id = %s", (cart,)).fetchone()[0] == 7


def test_duplicated_and_out_of_order_events_end_in_the_same_state(web, warehouse_url, conn):
    ordered, shuffled = f"c-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    httpx.post(f"{web}/intake/cart-events", json=cart_events(ordered), headers=KEY).raise_for_status()
    events = cart_events(shuffled)
    mixed = events + random.Random(3).sample(events, 4)
    random.Random(5).shuffle(mixed)
    counts = [httpx.post(f"{web}/intake/cart-events", json=e, headers=KEY).json() for e in mixed]
    assert sum(c["accepted"] for c in counts) == 7 and sum(c["duplicates"] for c in counts) == 4
    assert cart_state(conn, ordered) == cart_state(conn, shuffled)
    # the whole batch again changes nothing
    again = httpx.post(f"{web}/intake/cart-events", json=events, headers=KEY).json()
    assert again == {"accepted": 0, "duplicates": 7, "carts": 0}
    assert cart_state(conn, ordered) == cart_state(conn, shuffled)


def test_an_event_for_an_unknown_cart_creates_it_and_no_email_is_fine(web, warehouse_url, conn):
    cart = f"c-{uuid.uuid4().hex[:8]}"
    ev = {
        "event_id": f"{cart}-x1",
        "type": "item_added",
        "cart_id": cart,
        "occurred_at": AT.isoformat(),
        "item": {"sku_id": "S1", "name": "Glow Serum", "unit_price": "34.00"},
    }
    assert (
        httpx.post(
            f"{web}/intake/cart-events", json=ev, headers={"X-Write-Key": SANDBOX_WRITE_KEY}
        ).status_code
        == 202
    )
    head, items = cart_state(conn, cart)
    assert head[0] is None and head[1] == 1 and items == [("S1", 1, 34)]


def test_wrong_write_key_is_refused_and_nothing_stored(web, warehouse_url, conn, monkeypatch):
    cart = f"c-{uuid.uuid4().hex[:8]}"
    assert httpx.post(f"{web}/intake/cart-events", json=cart_events(cart)).status_code == 401
    monkeypatch.setenv("WEBSITE_WRITE_KEY", "wk_live_rotated")  # read at request time
    assert httpx.post(f"{web}/intake/cart-events", json=cart_events(cart), headers=KEY).status_code == 401
    ok = httpx.post(
        f"{web}/intake/cart-events", json=cart_events(cart), headers={"X-Write-Key": "wk_live_rotated"}
    )
    assert ok.status_code == 202
    assert conn.execute("SELECT count(*) FROM ops.dead_letters").fetchone()[0] == 0


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{not json", "not JSON"),
        (
            json.dumps(
                {
                    "event_id": "evt-00000001",
                    "type": "item_added",
                    "cart_id": "c1",
                    "occurred_at": "2026-01-01T10:00:00+00:00",
                }
            ).encode(),
            "item_added needs 'item'",
        ),
        (
            json.dumps(
                {
                    "event_id": "evt-00000002",
                    "type": "teleported",
                    "cart_id": "c1",
                    "occurred_at": "2026-01-01T10:00:00+00:00",
                }
            ).encode(),
            "type",
        ),
        (
            json.dumps(
                {
                    "event_id": "evt-00000003",
                    "type": "cart_created",
                    "cart_id": "c1",
                    "occurred_at": "2026-01-01T10:00:00",
                }
            ).encode(),
            "occurred_at",
        ),
        (
            json.dumps(
                {
                    "event_id": "evt-00000004",
                    "type": "contact_identified",
                    "cart_id": "c1",
                    "occurred_at": "2026-01-01T10:00:00+00:00",
                    "email": "not-an-email",
                }
            ).encode(),
            "not an email",
        ),
    ],
)
def test_a_bad_body_gets_400_with_the_reason_and_a_dead_letter(web, warehouse_url, conn, body, reason):
    r = httpx.post(
        f"{web}/intake/cart-events", content=body, headers={**KEY, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and reason in r.json()["error"]
    source, stored_reason, payload = conn.execute(
        "SELECT source, reason, payload FROM ops.dead_letters"
    ).fetchone()
    assert source == "web.cart_events" and reason in stored_reason and payload == body.decode()
    assert conn.execute("SELECT count(*) FROM ops.carts").fetchone()[0] == 0


def test_a_body_over_the_size_limit_gets_413(web, warehouse_url, conn):
    cart = f"c-{uuid.uuid4().hex[:8]}"
    big = [{**cart_events(cart)[0], "event_id": f"{cart}-{i:05d}", "note": "x" * 2000} for i in range(140)]
    r = httpx.post(f"{web}/intake/cart-events", json=big, headers=KEY)
    assert r.status_code == 413
    assert conn.execute("SELECT count(*) FROM ops.cart_events").fetchone()[0] == 0


def test_order_completed_records_the_order_and_converts_the_cart(web, warehouse_url, conn):
    cart = f"c-{uuid.uuid4().hex[:8]}"
    done = {
        "event_id": f"{cart}-done",
        "type": "order_completed",
        "cart_id": cart,
        "order_id": f"W-{cart}",
        "order_total": "135.00",
        "occurred_at": (AT + timedelta(minutes=9)).isoformat(),
        "shipping": "5.00",
        "accepts_marketing": True,
    }
    r = httpx.post(f"{web}/intake/cart-events", json=cart_events(cart) + [done], headers=KEY)
    assert r.status_code == 202
    assert conn.execute(
        "SELECT converted_at, order_id FROM ops.carts WHERE cart_id = %s", (cart,)
    ).fetchone() == (AT + timedelta(minutes=9), f"W-{cart}")
    order = conn.execute(
        "SELECT email, total, line_count, shipping FROM raw.website_orders WHERE order_id = %s",
        (f"W-{cart}",),
    ).fetchone()
    assert order == ("buyer@example.com", 135, 2, 5)


def tiktok_webhook(web: str, envelope: dict, secret: str = "sandbox-app-secret") -> httpx.Response:
    body = json.dumps(envelope).encode()
    return httpx.post(
        f"{web}/webhooks/tiktok-shop",
        content=body,
        headers={
            "Authorization": sign_webhook("sandbox-app-key", secret, body),
            "Content-Type": "application/json",
        },
    )


def test_tiktok_unpaid_order_becomes_a_cart_and_payment_ends_it(
    web, sandbox, warehouse_url, conn, vendor_env_for, monkeypatch
):
    box, url = sandbox
    vendor_env_for(url)
    monkeypatch.setenv(
        "TIKTOK_SHOP_BASE_URL", url + "/tiktok-shop"
    )  # the order detail is read from the emulator
    order = next(o for o in box.world.orders_on(TODAY) if o.channel == "tiktok_shop")
    cart = cart_id_for(order.order_id)
    unpaid = {
        "type": 1,
        "shop_id": "7495609988000000001",
        "tts_notification_id": f"n-{uuid.uuid4().hex}",
        "timestamp": int(order.created_at.timestamp()),
        "data": {
            "order_id": order.order_id,
            "order_status": "UNPAID",
            "update_time": int(order.created_at.timestamp()),
        },
    }
    assert tiktok_webhook(web, unpaid).status_code == 200
    email, count, channel, converted = conn.execute(
        "SELECT email, item_count, channel, converted_at FROM ops.carts WHERE cart_id = %s", (cart,)
    ).fetchone()
    assert (email, count, channel, converted) == (
        order.customer.email,
        sum(ln.quantity for ln in order.lines),
        "tiktok_shop",
        None,
    )
    urls = [u for (u,) in conn.execute("SELECT product_url FROM ops.cart_items WHERE cart_id = %s", (cart,))]
    assert urls and all(u.startswith("https://shop.tiktok.com/view/product/") for u in urls)
    paid = {
        **unpaid,
        "tts_notification_id": f"n-{uuid.uuid4().hex}",
        "data": {**unpaid["data"], "order_status": "AWAITING_SHIPMENT"},
    }
    assert tiktok_webhook(web, paid).status_code == 200
    assert conn.execute("SELECT order_id FROM ops.carts WHERE cart_id = %s", (cart,)).fetchone() == (
        order.order_id,
    )


def test_tiktok_webhook_with_a_bad_signature_is_refused_and_nothing_stored(
    web, sandbox, warehouse_url, conn, vendor_env_for
):
    vendor_env_for(sandbox[1])
    envelope = {"type": 1, "data": {"order_id": "5700000000000001", "order_status": "UNPAID"}}
    assert tiktok_webhook(web, envelope, secret="not-the-secret").status_code == 401
    body = json.dumps(envelope).encode()
    assert httpx.post(f"{web}/webhooks/tiktok-shop", content=body).status_code == 401
    assert (
        conn.execute(
            "SELECT (SELECT count(*) FROM ops.cart_events) + (SELECT count(*) FROM ops.dead_letters)"
        ).fetchone()[0]
        == 0
    )


def test_incremental_folding_equals_a_full_refold(warehouse_url, conn):
    """Events one at a time in order (applied to the stored state) and the same events shuffled
    (late ones refold the history) end in the state a single fold of all of them gives."""
    from marketing_pipeline.cart_recovery.carts import fold, record_events
    from marketing_pipeline.cart_recovery.events import CartEvent
    from marketing_pipeline.warehouse import connect

    rng = random.Random(11)

    def events(cart: str) -> list[CartEvent]:
        out = []
        for n in range(60):
            sku = f"S{rng.randrange(4)}"
            item = {
                "sku_id": sku,
                "name": sku,
                "unit_price": "5.00",
                "quantity": rng.randrange(1, 3),
                "product_url": f"https://shop.lumenleaf.example/p/{sku}",
            }
            kind = rng.choice(
                ["item_added", "item_added", "item_removed", "cart_updated", "contact_identified"]
            )
            extra = (
                {"item": item}
                if kind.startswith("item")
                else {"items": [item]}
                if kind == "cart_updated"
                else {}
            )
            if kind == "contact_identified":
                extra = {"email": f"p{rng.randrange(3)}@example.com"}
            out.append(
                CartEvent(
                    event_id=f"{cart}-{n:03d}",
                    type=kind,
                    cart_id=cart,
                    occurred_at=AT + timedelta(seconds=n // 2),
                    **extra,
                )
            )
        return out

    def state(cart: str):
        head = conn.execute(
            "SELECT email, item_count, subtotal, product_url, last_activity_at, last_event_id FROM ops.carts"
            " WHERE cart_id = %s",
            (cart,),
        ).fetchone()
        return head, cart_state(conn, cart)[1]

    in_order = events("inc-a")
    with connect(warehouse_url) as c:
        for e in in_order:
            record_events(c, [e], "website")
    mixed = [
        e.model_copy(update={"cart_id": "inc-a2", "event_id": e.event_id.replace("inc-a", "inc-a2")})
        for e in in_order
    ]
    random.Random(2).shuffle(mixed)
    with connect(warehouse_url) as c:
        for e in mixed:
            record_events(c, [e], "website")
    assert state("inc-a")[1] == state("inc-a2")[1] and state("inc-a")[0][:4] == state("inc-a2")[0][:4]
    expected = fold("inc-a", "website", in_order)
    assert state("inc-a")[0][:3] == (expected.email, expected.item_count, expected.subtotal)


def test_tiktok_webhook_replay_is_deduplicated_before_the_order_is_fetched(
    web, sandbox, warehouse_url, conn, vendor_env_for, monkeypatch
):
    box, url = sandbox
    vendor_env_for(url)
    monkeypatch.setenv("TIKTOK_SHOP_BASE_URL", url + "/tiktok-shop")
    order = next(o for o in box.world.orders_on(TODAY) if o.channel == "tiktok_shop")
    unpaid = {
        "type": 1,
        "tts_notification_id": f"n-{uuid.uuid4().hex}",
        "timestamp": int(order.created_at.timestamp()),
        "data": {"order_id": order.order_id, "order_status": "UNPAID"},
    }
    assert tiktok_webhook(web, unpaid).json()["accepted"] == 2
    # the order API is gone now: a replay that fetched it would answer 503
    monkeypatch.setenv("TIKTOK_SHOP_BASE_URL", "http://127.0.0.1:9/tiktok-shop")
    replay = tiktok_webhook(web, unpaid)
    assert replay.status_code == 200 and replay.json() == {"accepted": 0, "duplicates": 1}
