"""Sandbox brand's website orders as the storefront would hand them over: a CSV export or pushed orders.

Used by the demo (export the demo window, then import it like any history file), the import
benchmark and the tests.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path

from marketing_pipeline.sandbox.world import Order, World
from marketing_pipeline.sources.website.orders import WebsiteOrder
from marketing_pipeline.sources.website.staging import FIELDS


def website_orders(world: World, first: date, last: date) -> Iterator[Order]:
    """The World's website orders created on UTC days ``first..last``."""
    day = first
    while day <= last:
        yield from (o for o in world.orders_on(day) if o.channel == "website")
        day += timedelta(days=1)


def csv_rows(o: Order) -> Iterator[list]:
    utm = o.utm or {}
    for ln in o.lines:
        yield [
            o.order_id,
            o.customer.email,
            o.created_at.isoformat(),
            o.currency,
            ln.product.sku_id,
            ln.product.product_id,
            ln.product.name,
            ln.product.variant,
            ln.quantity,
            ln.unit_price,
            ln.discount,
            ln.product.image_url,
            o.subtotal,
            o.discount,
            o.shipping,
            o.tax,
            o.total,
            o.discount_code or "",
            utm.get("utm_source", ""),
            utm.get("utm_medium", ""),
            utm.get("utm_campaign", ""),
            utm.get("utm_content", ""),
            utm.get("utm_term", ""),
            str(o.customer.accepts_marketing).lower(),
        ]


def write_csv(path: Path, orders: Iterable[Order]) -> int:
    """Write orders in the import layout; returns the number of data rows (order lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for o in orders:
            for row in csv_rows(o):
                writer.writerow(row)
                rows += 1
    return rows


def to_website_order(o: Order) -> WebsiteOrder:
    """The World order as the checkout would push it."""
    return WebsiteOrder(
        order_id=o.order_id,
        email=o.customer.email,
        created_at=o.created_at,
        currency=o.currency,
        lines=[
            {
                "sku": ln.product.sku_id,
                "product_id": ln.product.product_id,
                "name": ln.product.name,
                "variant": ln.product.variant,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "discount": ln.discount,
                "image_url": ln.product.image_url,
            }
            for ln in o.lines
        ],
        subtotal=o.subtotal,
        discount=o.discount,
        shipping=o.shipping,
        tax=o.tax,
        total=o.total,
        discount_code=o.discount_code,
        accepts_marketing=o.customer.accepts_marketing,
        **(o.utm or {}),
    )
