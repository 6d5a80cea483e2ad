"""TikTok Shop orders end to end: emulator over HTTP -> client -> Dagster asset -> PostgreSQL."""

from collections import Counter
from datetime import date

import dagster as dg
import pytest

from marketing_pipeline import partitions
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.http import MissingCredentials, VendorError
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.tiktok_shop.assets import tiktok_shop_orders
from marketing_pipeline.sources.tiktok_shop.client import TikTokShopClient
from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.conftest import recent_day

CREDS = {
    "app_key": "sandbox-app-key",
    "app_secret": "sandbox-app-secret",
    "access_token": "sandbox-access-token",
}
FAULTS = "tiktok-shop:429=0.15,500=0.1,503=0.05,drop=0.1,retry_after=0"


def expected_ids(box, day: date) -> list[str]:
    start, end = day_bounds(day)
    return sorted(o.order_id for o in box.world.orders_between(start, end) if o.channel == "tiktok_shop")


def test_pagination_returns_every_order_exactly_once(sandbox):
    box, url = sandbox
    day = recent_day(20)
    client = TikTokShopClient(url + "/tiktok-shop", **CREDS)
    ids = [o.id for page in client.search_orders(*day_bounds(day), page_size=7) for o in page]
    assert len(ids) > 20 and client.stats.pages > 3
    assert Counter(ids).most_common(1)[0][1] == 1
    assert sorted(ids) == expected_ids(box, day)


@pytest.mark.parametrize("faulty_sandbox", [FAULTS], indirect=True)
def test_faults_are_survived_with_nothing_lost_or_duplicated(faulty_sandbox):
    box, url = faulty_sandbox
    day = recent_day(30)
    client = TikTokShopClient(
        url + "/tiktok-shop", **CREDS, backoff_base=0.01, backoff_cap=0.05, max_attempts=12
    )
    ids = [o.id for page in client.search_orders(*day_bounds(day), page_size=5) for o in page]
    assert sorted(ids) == expected_ids(box, day)
    injected = box.injectors["tiktok-shop"].injected
    assert client.stats.retries == sum(injected.values()) > 0
    assert {"429", "drop"} & set(injected)


def resources(url: str) -> dict:
    return {
        "tiktok_shop": TikTokShopResource(base_url=url + "/tiktok-shop", **CREDS),
        "warehouse": WarehouseResource(),
    }


def table_rows(conn, table: str, key: str):
    return conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()


def snapshot(conn):
    cols = "order_id, status, total_amount, payload, partition_date"
    return (
        conn.execute(f"SELECT {cols} FROM raw.tiktok_shop_orders ORDER BY order_id").fetchall(),
        conn.execute(
            "SELECT order_id, line_item_id, sale_price, payload FROM raw.tiktok_shop_order_lines "
            "ORDER BY 1, 2"
        ).fetchall(),
    )


def test_materializing_a_partition_twice_gives_identical_rows(sandbox, warehouse_url, conn):
    box, url = sandbox
    day = recent_day(15)
    result = dg.materialize(
        [tiktok_shop_orders],
        partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
        resources=resources(url),
    )
    assert result.success
    first = snapshot(conn)
    assert sorted(r[0] for r in first[0]) == expected_ids(box, day)
    lines_expected = sum(
        sum(ln.quantity for ln in o.lines)
        for o in box.world.orders_between(*day_bounds(day))
        if o.channel == "tiktok_shop"
    )
    assert len(first[1]) == lines_expected
    mat = result.asset_materializations_for_node("tiktok_shop_orders")[0]
    assert mat.metadata["rows"].value == len(first[0]) and mat.metadata["api_calls"].value >= 1
    assert dg.materialize(
        [tiktok_shop_orders],
        partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
        resources=resources(url),
    ).success
    assert snapshot(conn) == first


def test_money_is_exact(sandbox, warehouse_url, conn):
    _, url = sandbox
    day = recent_day(16)
    dg.materialize(
        [tiktok_shop_orders],
        partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
        resources=resources(url),
    )
    mismatched = conn.execute(
        "SELECT count(*) FROM raw.tiktok_shop_orders o WHERE sub_total <> "
        "(SELECT sum(sale_price) FROM raw.tiktok_shop_order_lines l WHERE l.order_id = o.order_id)"
    ).fetchone()[0]
    assert mismatched == 0


def test_a_run_that_fails_halfway_leaves_the_previous_rows(sandbox, warehouse_url, conn, monkeypatch):
    _, url = sandbox
    day = recent_day(17).isoformat()
    dg.materialize(
        [tiktok_shop_orders], partition_key=brand_day_key(DEFAULT_ID, day), resources=resources(url)
    )
    before = snapshot(conn)
    # the vendor refuses the second page: the run fails after rows of the first page were written
    from marketing_pipeline.sources.tiktok_shop import client as client_module

    original = client_module.TikTokShopClient._pages

    def broken_pages(self, *args, **kwargs):
        pages = original(self, *args, **kwargs)
        yield next(pages)
        raise VendorError("TikTok Shop", "Invalid request: page_token is invalid", status=400, code=36009003)

    monkeypatch.setattr(client_module.TikTokShopClient, "_pages", broken_pages)
    result = dg.materialize(
        [tiktok_shop_orders],
        partition_key=brand_day_key(DEFAULT_ID, day),
        resources=resources(url),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "36009003" in str(failure.event_specific_data.error)
    assert snapshot(conn) == before


def test_malformed_order_is_named_and_kept(sandbox, warehouse_url, conn, monkeypatch):
    _, url = sandbox
    from marketing_pipeline.sandbox.tiktok_shop import emulator

    original = emulator.order_json

    def corrupt(order):
        body = original(order)
        body["payment"]["total_amount"] = "twelve dollars"
        return body

    monkeypatch.setattr(emulator, "order_json", corrupt)
    result = dg.materialize(
        [tiktok_shop_orders],
        partition_key=brand_day_key(DEFAULT_ID, recent_day(18).isoformat()),
        resources=resources(url),
        raise_on_error=False,
    )
    assert not result.success
    message = str(result.all_events[-1].event_specific_data) + "".join(
        str(e.event_specific_data) for e in result.all_events if e.is_step_failure
    )
    assert "payment.total_amount" in message and "TikTok Shop order 57" in message
    source, reason, payload = conn.execute("SELECT source, reason, payload FROM ops.dead_letters").fetchone()
    assert source == "tiktok_shop.orders" and "payment.total_amount" in reason and "twelve dollars" in payload
    assert conn.execute("SELECT count(*) FROM raw.tiktok_shop_orders").fetchone()[0] == 0


def test_missing_credentials_name_the_vendor_and_variable():
    with pytest.raises(
        MissingCredentials, match="TikTok Shop is not configured: set TIKTOK_SHOP_APP_SECRET \\("
    ):
        TikTokShopResource(app_key="k", app_secret="", access_token="t").client()
    with pytest.raises(MissingCredentials) as info:
        TikTokShopResource().client()
    assert info.value.variables == [
        "TIKTOK_SHOP_APP_KEY",
        "TIKTOK_SHOP_APP_SECRET",
        "TIKTOK_SHOP_ACCESS_TOKEN",
    ]


def test_partition_key_outside_the_range_is_a_clear_error():
    with pytest.raises(ValueError, match="before the first partition"):
        partitions.check_partition_key("1999-01-01")
    with pytest.raises(ValueError, match="not a date"):
        partitions.check_partition_key("yesterday")
    with pytest.raises(dg.DagsterUnknownPartitionError, match="1999-01-01"):
        dg.materialize(
            [tiktok_shop_orders],
            partition_key=brand_day_key(DEFAULT_ID, "1999-01-01"),
            resources={"tiktok_shop": TikTokShopResource(**CREDS), "warehouse": WarehouseResource()},
        )
