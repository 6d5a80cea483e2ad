"""Shared pieces of the Klaviyo activation tests (no tests here): warehouse rows, resources, runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg

from marketing_pipeline.activation.klaviyo.definitions import ACTIVATION_ASSETS
from marketing_pipeline.marts.rebuild import rebuild
from marketing_pipeline.sandbox.credentials import KLAVIYO_API_KEY
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.warehouse import WarehouseResource

API_KEY = KLAVIYO_API_KEY
NOW = datetime.now(UTC)
FAST = {
    "ops": {"klaviyo_profile_sync": {"config": {"poll_interval_seconds": 0.05, "poll_timeout_seconds": 20}}}
}


def klaviyo_resource(url: str, **kw) -> KlaviyoResource:
    return KlaviyoResource(**{"base_url": url + "/klaviyo", "api_key": API_KEY, **kw})


def resources(url: str, **kw) -> dict:
    return {"klaviyo": klaviyo_resource(url, **kw), "warehouse": WarehouseResource()}


def rebuild_model() -> None:
    """core.* and marts.* from the raw rows, with today's segment snapshot: what activation reads."""
    today = datetime.now(UTC).date()
    with WarehouseResource().transaction() as conn:
        rebuild(conn, today - timedelta(days=400), today)


def materialize(
    url: str,
    assets=None,
    run_config: dict | None = None,
    raise_on_error: bool = True,
    model: bool = True,
    **kw,
):
    if model:
        rebuild_model()
    config = {"ops": {**FAST["ops"], **((run_config or {}).get("ops") or {})}}
    selected = assets or ACTIVATION_ASSETS
    config["ops"] = {k: v for k, v in config["ops"].items() if k in {a.key.path[-1] for a in selected}}
    return dg.materialize(
        selected,
        resources=resources(url, **kw),
        run_config=config,
        raise_on_error=raise_on_error,
        partition_key=DEFAULT_ID,
    )


def tiktok_order(
    conn,
    order_id: str,
    email: str | None,
    total: str,
    *,
    days_ago: float = 1,
    first: str = "Ava",
    last: str = "Smith",
    status: str = "COMPLETED",
    user_id: str = "7000",
    lines: int = 1,
) -> None:
    created = NOW - timedelta(days=days_ago)
    payload = {
        "id": order_id,
        "recipient_address": {"first_name": first, "last_name": last, "name": f"{first} {last}"},
    }
    conn.execute(
        "INSERT INTO raw.tiktok_shop_orders (order_id, status, buyer_user_id, buyer_email, currency, sub_total,"
        " shipping_fee, seller_discount, platform_discount, tax, total_amount, line_count, created_at, updated_at,"
        " paid_at, payload, partition_date) VALUES (%s, %s, %s, %s, 'USD', %s, 0, 0, 0, 0, %s, %s, %s, %s, %s, %s, %s)",
        (
            order_id,
            status,
            user_id,
            email,
            Decimal(total),
            Decimal(total),
            lines,
            created,
            created,
            None if status in ("UNPAID", "CANCELLED") else created,
            json.dumps(payload),
            created.date(),
        ),
    )
    for n in range(lines):
        conn.execute(
            "INSERT INTO raw.tiktok_shop_order_lines (order_id, line_item_id, sku_id, product_id, product_name, sku_name,"
            " sale_price, original_price, seller_discount, platform_discount, payload, partition_date)"
            " VALUES (%s, %s, 'SKU1', 'P1', 'Glow Serum', '30 ml', %s, %s, 0, 0, '{}', %s)",
            (order_id, f"{order_id}-{n}", Decimal(total) / lines, Decimal(total) / lines, created.date()),
        )


def website_order(conn, order_id: str, email: str, total: str, *, days_ago: float = 1) -> None:
    created = NOW - timedelta(days=days_ago)
    conn.execute(
        "INSERT INTO raw.website_orders (order_id, email, created_at, currency, subtotal, discount, shipping, tax,"
        " total, line_count, source, payload, partition_date) VALUES (%s, %s, %s, 'USD', %s, 0, 0, 0, %s, 1,"
        " 'checkout', '{}', %s)",
        (order_id, email, created, Decimal(total), Decimal(total), created.date()),
    )
    conn.execute(
        "INSERT INTO raw.website_order_lines (order_id, line_number, sku, product_id, product_name, variant, quantity,"
        " unit_price, discount, currency, partition_date) VALUES (%s, 1, 'SKU2', 'P2', 'Body Oil', 'Rose', 1,"
        " %s, 0, 'USD', %s)",
        (order_id, Decimal(total), created.date()),
    )


def klaviyo_profile(conn, profile_id: str, email: str, *, subscribed_days_ago: float | None = None) -> None:
    """A profile read from Klaviyo (raw), subscribed some days ago when given."""
    at = NOW - timedelta(days=subscribed_days_ago or 0)
    conn.execute(
        "INSERT INTO raw.klaviyo_profiles (profile_id, email, created_at, updated_at, email_consent,"
        " email_consent_at, payload, partition_date) VALUES (%s, %s, %s, %s, %s, %s, '{}', %s)",
        (
            profile_id,
            email,
            at,
            at,
            "SUBSCRIBED" if subscribed_days_ago is not None else "NEVER_SUBSCRIBED",
            at if subscribed_days_ago is not None else None,
            at.date(),
        ),
    )


def consent(conn, email: str, yes: bool, days_ago: float = 1, source: str = "website.checkout") -> None:
    conn.execute(
        "INSERT INTO ops.consent (email, channel, consented, source, recorded_at) VALUES (%s, 'email', %s, %s, %s)",
        (email, yes, source, NOW - timedelta(days=days_ago)),
    )


def history(conn) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT sync, status, sent, created, updated, skipped, failed, errors, finished_at IS NOT NULL"
        " FROM ops.sync_history WHERE destination = 'klaviyo' ORDER BY id"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}
