"""The sandbox brand's carts, derived from the World: every website order was a cart first,
and other carts are abandoned; some of their owners come back and order within days.

Deterministic per UTC day (``random.Random(f"{seed}:carts:{day}")``). Each cart is a list of
intake event bodies with event times in the past, plus the moments its owner clicks a
recovery link (``click_at``), used by the demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from marketing_pipeline.sandbox.world import Order, Product, World


@dataclass
class SandboxCart:
    cart_id: str
    events: list[dict]
    email: str | None
    comes_back: bool = False
    click_at: list[datetime] = field(default_factory=list)


def _item(p: Product, quantity: int, discount=None) -> dict:
    item = {
        "sku_id": p.sku_id,
        "product_id": p.product_id,
        "name": p.name,
        "variant": p.variant,
        "image_url": p.image_url,
        "quantity": quantity,
        "unit_price": str(p.price),
    }
    if discount:
        item["discount"] = str(discount)
    return item


def _ev(cart_id: str, n: int, kind: str, at: datetime, **kw) -> dict:
    return {
        "event_id": f"{cart_id}:{n}",
        "type": kind,
        "cart_id": cart_id,
        "occurred_at": at.isoformat(),
        **kw,
    }


def converted_cart(order: Order, rng: random.Random) -> SandboxCart:
    """The cart behind a website order: browsing, identification at checkout, the order."""
    cid = f"wc-{order.order_id}"
    t = order.created_at - timedelta(minutes=rng.randint(6, 40))
    events = [_ev(cid, 0, "cart_created", t)]
    for i, line in enumerate(order.lines, 1):
        events.append(
            _ev(cid, i, "item_added", t + timedelta(minutes=i), item=_item(line.product, line.quantity))
        )
    c = order.customer
    events += [
        _ev(
            cid,
            90,
            "contact_identified",
            order.created_at - timedelta(minutes=3),
            email=c.email,
            customer_id=str(c.customer_id),
        ),
        _ev(cid, 91, "checkout_started", order.created_at - timedelta(minutes=2)),
        _ev(
            cid,
            99,
            "order_completed",
            order.created_at,
            order_id=order.order_id,
            order_total=str(order.total),
            items=[_item(ln.product, ln.quantity, ln.discount) for ln in order.lines],
            shipping=str(order.shipping),
            tax=str(order.tax),
            discount_code=order.discount_code,
            accepts_marketing=c.accepts_marketing,
            **order.utm,
        ),
    ]
    return SandboxCart(cid, events, c.email)


def abandoned_carts(world: World, day: date) -> list[SandboxCart]:
    rng = random.Random(f"{world.seed}:carts:{day.isoformat()}")
    later = [o for k in (1, 2, 3) for o in world.orders_on(day + timedelta(days=k)) if o.channel == "website"]
    today = [o for o in world.orders_on(day) if o.channel == "website"]
    count = max(6, round(0.25 * len(today)))
    out = []
    for n in range(count):
        cid = f"ac-{day:%Y%m%d}-{n:03d}"
        comeback = later and rng.random() < 0.3
        if comeback:  # the owner of a later order left a cart first
            order = rng.choice(later)
            customer, products = order.customer, [ln.product for ln in order.lines]
            start = order.created_at - timedelta(hours=rng.uniform(3, 50))
        else:
            customer = rng.choice(world.customers[: max(1, len(world.customers) // 2)])
            products = rng.sample(world.products, rng.choice([1, 1, 2, 3]))
            start = datetime.combine(day, time.min, tzinfo=UTC) + timedelta(
                seconds=rng.randint(8 * 3600, 23 * 3600)
            )
        email = customer.email if comeback or rng.random() < 0.75 else None
        events = [_ev(cid, 0, "cart_created", start)]
        for i, p in enumerate(products, 1):
            events.append(_ev(cid, i, "item_added", start + timedelta(minutes=i), item=_item(p, 1)))
        if email:
            events.append(
                _ev(cid, 90, "contact_identified", start + timedelta(minutes=len(products) + 1), email=email)
            )
            if rng.random() < 0.5:
                events.append(_ev(cid, 91, "checkout_started", start + timedelta(minutes=len(products) + 2)))
        clicks = []
        if comeback and rng.random() < 0.6:
            clicks.append(order.created_at - timedelta(minutes=rng.randint(2, 20)))
        elif email and rng.random() < 0.1:
            clicks.append(start + timedelta(hours=rng.uniform(1, 30)))
        out.append(SandboxCart(cid, events, email, bool(comeback), clicks))
    return out


def carts_between(world: World, first: date, last: date) -> list[SandboxCart]:
    """Abandoned carts started on [first, last] and the converted carts of every website order
    from ``first`` through the World's today (so owners who come back are seen ordering)."""
    out: list[SandboxCart] = []
    day = first
    while day <= last:
        out += abandoned_carts(world, day)
        day += timedelta(days=1)
    day = first
    while day <= world.today:
        rng = random.Random(f"{world.seed}:converted:{day.isoformat()}")
        out += [converted_cart(o, rng) for o in world.orders_on(day) if o.channel == "website"]
        day += timedelta(days=1)
    return out
