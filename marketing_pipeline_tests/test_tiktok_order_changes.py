"""Late changes: an old TikTok Shop order cancelled today lands, cancelled, in its own day and core.orders."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import httpx
import pytest

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.marts.assets import core_and_marts
from marketing_pipeline.sandbox.app import build
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.tiktok_shop.assets import tiktok_shop_orders
from marketing_pipeline.sources.tiktok_shop.changes import tiktok_shop_order_changes
from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.conftest import TODAY, recent_day

CORE = ["core_customers", "core_orders"]  # the core model's step, for these two tables only

CREDS = {
    "app_key": "sandbox-app-key",
    "app_secret": "sandbox-app-secret",
    "access_token": "sandbox-access-token",
}


@pytest.fixture
def own_sandbox():
    """A sandbox of its own: this test changes an order, which others must not see."""
    box = build(seed=7, today=TODAY)
    with BackgroundServer(box.app) as server:
        yield box, server.url


def core_order(conn, order_id: str):
    return conn.execute(
        "SELECT status, is_cancelled, net_revenue FROM core.orders WHERE order_key = %s",
        (f"tiktok_shop:{order_id}",),
    ).fetchone()


def test_an_order_cancelled_20_days_later_is_cancelled_after_the_next_hourly_run(
    own_sandbox, warehouse_url, conn, vendor_env_for
):
    box, url = own_sandbox
    vendor_env_for(url)  # every vendor configured, on this sandbox
    day = recent_day(20)
    order = next(
        o for o in box.world.orders_on(day) if o.channel == "tiktok_shop" and o.status == "COMPLETED"
    )
    tiktok = TikTokShopResource(base_url=url + "/tiktok-shop", **CREDS)
    resources = {"tiktok_shop": tiktok, "warehouse": WarehouseResource()}

    assert dg.materialize(
        [tiktok_shop_orders], partition_key=brand_day_key(DEFAULT_ID, day), resources=resources
    ).success
    assert dg.materialize(
        [core_and_marts], selection=CORE, resources=resources, partition_key=DEFAULT_ID
    ).success
    assert core_order(conn, order.order_id)[:2] == ("COMPLETED", False)

    now = datetime.now(UTC)
    cancelled_at = int(now.timestamp()) - 5  # a few seconds ago: the read covers whole past seconds
    changed = httpx.post(
        f"{url}/tiktok-shop/_sandbox/orders/{order.order_id}",
        json={"status": "CANCELLED", "update_time": cancelled_at},
    )
    assert changed.status_code == 200 and changed.json()["status"] == "CANCELLED"

    last_read = now - timedelta(minutes=61)  # the previous hourly read
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(
            instance=instance,
            cursor=json.dumps({"until": last_read.isoformat()}),
            resources={"tiktok_shop": tiktok},
        ) as context:
            result = tiktok_shop_order_changes(context)
        requests = {r.partition_key: r for r in result.run_requests}
        key = brand_day_key(DEFAULT_ID, day)
        assert key in requests and brand_day_key(DEFAULT_ID, TODAY) not in requests
        assert requests[key].tags["refresh"] == "order_changes"
        assert datetime.fromisoformat(json.loads(result.cursor)[DEFAULT_ID]) >= now.replace(microsecond=0)
        # the next tick within the hour reads nothing
        with dg.build_sensor_context(
            instance=instance, cursor=result.cursor, resources={"tiktok_shop": tiktok}
        ) as context:
            again = tiktok_shop_order_changes(context)
        assert isinstance(again, dg.SkipReason)

    # the run the sensor requested, then the marts' rebuild that follows it
    assert dg.materialize(
        [tiktok_shop_orders], partition_key=brand_day_key(DEFAULT_ID, day), resources=resources
    ).success
    assert dg.materialize(
        [core_and_marts], selection=CORE, resources=resources, partition_key=DEFAULT_ID
    ).success
    status, cancelled, net = core_order(conn, order.order_id)
    assert (status, cancelled, net) == ("CANCELLED", True, 0)
    partition = conn.execute(
        "SELECT partition_date FROM raw.tiktok_shop_orders WHERE order_id = %s", (order.order_id,)
    ).fetchall()
    assert partition == [(day,)]  # in its own day, once


def test_without_credentials_the_sensor_says_why(monkeypatch):
    for var in ("TIKTOK_SHOP_APP_KEY", "TIKTOK_SHOP_APP_SECRET", "TIKTOK_SHOP_ACCESS_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    tiktok = TikTokShopResource(base_url="http://127.0.0.1:9", app_key="", app_secret="", access_token="")
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance, resources={"tiktok_shop": tiktok}) as context:
            result = tiktok_shop_order_changes(context)
    assert isinstance(result, dg.SkipReason) and "TIKTOK_SHOP_APP_KEY" in result.skip_message
