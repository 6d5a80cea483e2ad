"""Shared pieces of the cart recovery tests (no tests here): the clock, a sandbox with links, a
shopper's cart events, and what the SendGrid emulator and the outbox hold."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import httpx
import pytest

from marketing_pipeline.cart_recovery.carts import record_events
from marketing_pipeline.cart_recovery.events import CartEvent
from marketing_pipeline.warehouse import connect

T = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def cart_env(sandbox, warehouse_url, vendor_env_for, monkeypatch):
    box, url = sandbox
    vendor_env_for(url)
    monkeypatch.setenv("CART_RECOVERY_PUBLIC_URL", "http://links.test")
    with dg.instance_for_test() as instance:
        yield box, url, instance


def events(cart_id: str, at: datetime, email: str | None = "shopper@example.com") -> list[CartEvent]:
    def ev(kind: str, minutes: int, **kw) -> CartEvent:
        return CartEvent(
            event_id=f"{cart_id}:{kind}:{minutes}",
            type=kind,
            cart_id=cart_id,
            occurred_at=at + timedelta(minutes=minutes),
            **kw,
        )

    item = {
        "sku_id": "172900000000",
        "product_id": "172900000",
        "name": "Glow Serum",
        "variant": "30 ml",
        "image_url": "https://shop.example/glow.jpg",
        "unit_price": "34.00",
        "quantity": 2,
    }
    out = [
        ev("cart_created", -10),
        ev("item_added", -9, item=item),
        ev(
            "item_added",
            -5,
            item={
                **item,
                "sku_id": "172900010000",
                "name": "Body Oil",
                "variant": "Rose",
                "unit_price": "32.00",
                "quantity": 1,
            },
        ),
    ]
    if email:
        out.append(ev("contact_identified", 0, email=email))
    return out


def record(url: str, evs: list[CartEvent]) -> None:
    with connect(url) as conn:
        record_events(conn, evs, "website")


def messages(url: str, cart_id: str) -> list[dict]:
    sent = httpx.get(f"{url}/sendgrid/_sandbox/messages").json()
    return [m["body"] for m in sent if m["body"]["personalizations"][0]["custom_args"]["cart_id"] == cart_id]


def statuses(conn, cart_id: str) -> dict[int, str]:
    return dict(
        conn.execute("SELECT step, status FROM ops.recovery_outbox WHERE cart_id = %s", (cart_id,)).fetchall()
    )


def identified_cart(url: str, cart_id: str, email: str, at: datetime = T) -> None:
    """A cart with one item whose shopper gave their email, as the storefront reports it."""
    evs = [
        CartEvent(
            event_id=f"{cart_id}:1",
            type="item_added",
            cart_id=cart_id,
            occurred_at=at,
            item={"sku_id": "S1", "name": "Glow Serum", "unit_price": "34.00"},
        ),
        CartEvent(
            event_id=f"{cart_id}:2", type="contact_identified", cart_id=cart_id, occurred_at=at, email=email
        ),
    ]
    record(url, evs)
