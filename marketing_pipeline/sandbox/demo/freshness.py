"""Demo step: a late change caught and an alert arriving.

An order from the start of the window is cancelled in the TikTok Shop emulator; the order-change
sensor finds it and its day is re-read. Then a TikTok Shop run with a revoked token fails, and the
run-failure sensor posts it to the sandbox's Slack (once, however often the sensor looks).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import dagster as dg
import httpx

from marketing_pipeline.alerts.sensors import alert_on_run_failure
from marketing_pipeline.alerts.slack import from_env as slack_from_env
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.sources.tiktok_shop.assets import tiktok_shop_orders
from marketing_pipeline.sources.tiktok_shop.changes import tiktok_shop_order_changes
from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource
from marketing_pipeline.sources.tiktok_shop.resource import from_env as tiktok_from_env
from marketing_pipeline.warehouse import WarehouseResource, connect

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
SILENT = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _late_change(ctx, tiktok: TikTokShopResource) -> None:
    resources = {"tiktok_shop": tiktok, "warehouse": WarehouseResource()}
    with connect(ctx.runtime.warehouse_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT order_id, status FROM raw.tiktok_shop_orders WHERE partition_date = %s"
            " AND status = 'COMPLETED' ORDER BY order_id LIMIT 1",
            (ctx.days[0],),
        ).fetchone()
    if row is None:
        return
    base = os.environ["TIKTOK_SHOP_BASE_URL"].rstrip("/")
    cancelled_at = int(datetime.now(UTC).timestamp()) - 5  # whole past seconds are read
    httpx.post(
        f"{base}/_sandbox/orders/{row[0]}",
        json={"status": "CANCELLED", "update_time": cancelled_at},
        timeout=30,
    ).raise_for_status()
    cursor = json.dumps({"until": (datetime.now(UTC) - timedelta(hours=1, minutes=1)).isoformat()})
    with dg.build_sensor_context(instance=ctx.instance, cursor=cursor, resources=resources) as context:
        result = tiktok_shop_order_changes(context)
    days = [r.partition_key for r in result.run_requests]
    for day in days:
        dg.materialize(
            [tiktok_shop_orders],
            partition_key=day,
            instance=ctx.instance,
            resources=resources,
            run_config=QUIET,
            tags={"refresh": "order_changes"},
        )
    with connect(ctx.runtime.warehouse_url, autocommit=True) as conn:
        now = conn.execute(
            "SELECT status FROM raw.tiktok_shop_orders WHERE order_id = %s", (row[0],)
        ).fetchone()
    ctx.extra["late_change"] = (row[0], ctx.days[0].isoformat(), row[1], now[0] if now else None, days)


def run(ctx) -> None:
    tiktok = tiktok_from_env()
    _late_change(ctx, tiktok)
    resources = {"slack": slack_from_env(), "warehouse": WarehouseResource()}
    with dg.build_sensor_context(instance=ctx.instance, resources=resources) as context:
        alert_on_run_failure.evaluate_tick(context)  # starts watching from now
        cursor = context.cursor
    revoked = TikTokShopResource(
        base_url=os.environ["TIKTOK_SHOP_BASE_URL"],
        app_key="revoked",
        app_secret="revoked",
        access_token="revoked",
    )
    dg.materialize(
        [tiktok_shop_orders],
        partition_key=brand_day_key(brand_settings.load().default.id, ctx.last),
        instance=ctx.instance,
        resources={"tiktok_shop": revoked, "warehouse": WarehouseResource()},
        run_config=SILENT,  # its failure is the point: the alert below reports it
        tags={"source": "demo"},
        raise_on_error=False,
    )
    for _ in range(2):  # the second look finds the same failure and posts nothing
        with dg.build_sensor_context(instance=ctx.instance, cursor=cursor, resources=resources) as context:
            alert_on_run_failure.evaluate_tick(context)
    slack = os.environ["SLACK_BASE_URL"].rstrip("/").removesuffix("/api")
    ctx.extra["slack"] = httpx.get(f"{slack}/_sandbox/messages", timeout=30).json()["messages"]


def summary(conn, ctx) -> list[str]:
    lines = [""]
    if change := ctx.extra.get("late_change"):
        order, day, before, after, days = change
        lines.append(
            f"Late change: TikTok order {order} of {day} cancelled in the emulator; the order-change sensor "
            f"re-read {', '.join(days) or 'no day'}: status {before} -> {after}"
        )
    messages = ctx.extra.get("slack", [])
    lines.append(f"Alerts in the sandbox's Slack ({len(messages)}):")
    lines += ["  " + m["text"].replace("\n", "\n  ") for m in messages]
    return lines
