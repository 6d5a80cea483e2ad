"""Ingestion of several brands: one backfill over the sandbox's three brands, each brand's days in
its own warehouse, cut on its own calendar; one brand's failure neither blocks nor touches the others."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import psycopg
import pytest
from dagster._core.definitions.automation_tick_evaluation_context import (
    build_run_requests_with_backfill_policies,
)
from dagster._core.definitions.events import AssetKeyPartitionKey

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.settings.brands import DEFAULT_ID, Brands
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.brand_modules import DEFINITION_MODULES
from marketing_pipeline_tests.brand_modules import reload as _reload
from marketing_pipeline_tests.conftest import TODAY


@pytest.fixture
def brand_assets(three_brands: Brands, warehouse_url: str) -> Iterator[dict]:
    """The asset modules as a code location loads them for the brands file (its partitions),
    loaded again for a deployment without one afterwards (with the modules that hold their objects,
    so no later test sees a sensor aimed at an asset object the definitions no longer have)."""
    yield _reload(DEFINITION_MODULES)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MARKETING_BRANDS_FILE")
        _reload(DEFINITION_MODULES)


@pytest.fixture
def brand_defs(three_brands: Brands, monkeypatch) -> Iterator[dg.Definitions]:
    """The project's definitions as a code location loads them for the sandbox's brands file."""
    from marketing_pipeline import definitions

    monkeypatch.setenv("LOOKBACK_DAYS", "7")
    _reload(DEFINITION_MODULES)
    yield definitions.defs
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MARKETING_BRANDS_FILE")
        _reload(DEFINITION_MODULES)


def resources() -> dict:
    from marketing_pipeline.sources.tiktok_shop.resource import from_env

    return {"tiktok_shop": from_env(), "warehouse": WarehouseResource()}


def plan(asset: dg.AssetsDefinition, keys: list, instance: dg.DagsterInstance) -> list[dg.RunRequest]:
    """The runs a backfill of ``keys`` launches: Dagster's own planning under the asset's
    BackfillPolicy (multi_run), as the backfill daemon does."""
    graph = dg.Definitions(assets=[asset], resources=resources()).resolve_asset_graph()
    wanted = [AssetKeyPartitionKey(asset.key, str(k)) for k in keys]
    return list(build_run_requests_with_backfill_policies(wanted, graph, instance))


def run_brand(request: dg.RunRequest) -> str:
    return request.tags["dagster/asset_partition_range_start"].partition("|")[0]


def loaded(brand, column: str = "order_id") -> dict:
    url = WarehouseResource().for_brand(brand).url()
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT {column}, partition_date, _run_id FROM raw.tiktok_shop_orders"
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def expected(box, brand, days: list[date]) -> dict[str, date]:
    out = {}
    for day in days:
        for o in box.world.orders_between(*day_bounds(day, brand.tz)):
            if o.channel == "tiktok_shop":
                out[o.order_id] = day
    return out


def late_utc_day(box) -> date:
    """A recent day with a TikTok order after 22:00 UTC: already the next day in Berlin (CEST)."""
    for back in range(3, 40):
        day = TODAY - timedelta(days=back)
        if any(
            o.channel == "tiktok_shop" and o.created_at.astimezone(UTC).hour >= 22
            for o in box.world.orders_on(day)
        ):
            return day
    raise AssertionError("no late order in the sandbox's last weeks")


def test_one_backfill_loads_every_brand_into_its_own_warehouse_and_a_failed_brand_reruns_alone(
    brand_assets, three_brands, brands_sandbox, monkeypatch
):
    boxes, _ = brands_sandbox
    asset = brand_assets["marketing_pipeline.sources.tiktok_shop.assets"].tiktok_shop_orders
    first = late_utc_day(boxes["northwind"])
    # more days than brands: Dagster then plans the backfill one brand per run (see the test below)
    days = [first + timedelta(days=i) for i in range(4)]
    keys = [brand_day_key(b.id, d) for b in three_brands for d in days]
    # northwind's TikTok token is refused; the other brands' accounts are fine
    monkeypatch.setenv("NORTHWIND_TIKTOK_SHOP_ACCESS_TOKEN", "revoked-token")

    with dg.instance_for_test() as instance:
        requests = plan(asset, keys, instance)
        # multi_run: one run per brand, each with that brand's days
        assert sorted(run_brand(r) for r in requests) == sorted(b.id for b in three_brands)
        results = {
            run_brand(r): dg.materialize(
                [asset], tags=r.tags, resources=resources(), instance=instance, raise_on_error=False
            )
            for r in requests
        }
        assert {b for b, res in results.items() if not res.success} == {"northwind"}

        before = {b.id: loaded(b) for b in three_brands}
        assert before["northwind"] == {}  # the failed run wrote nothing (one transaction)
        for brand in three_brands:
            if brand.id == "northwind":
                continue
            want = expected(boxes[brand.id], brand, days)
            assert want and {k: v[0] for k, v in before[brand.id].items()} == want, brand.id

        # the credential fixed, only northwind's run again (what "re-execute failed" launches)
        monkeypatch.setenv("NORTHWIND_TIKTOK_SHOP_ACCESS_TOKEN", brand_token(three_brands))
        again = next(r for r in requests if run_brand(r) == "northwind")
        rerun = dg.materialize([asset], tags=again.tags, resources=resources(), instance=instance)
        assert rerun.success
        after = {b.id: loaded(b) for b in three_brands}

    north = three_brands.get("northwind")
    want = expected(boxes["northwind"], north, days)
    assert want and {k: v[0] for k, v in after["northwind"].items()} == want
    assert {v[1] for v in after["northwind"].values()} == {rerun.run_id}
    # the others' rows untouched: same rows, same runs
    assert after["lumenleaf"] == before["lumenleaf"] and after["kumo"] == before["kumo"]
    # no brand's orders in another's warehouse
    ids = {b: set(rows) for b, rows in after.items()}
    assert not (ids["lumenleaf"] & ids["northwind"]) and not (ids["kumo"] & ids["northwind"])

    # Berlin's day: an order after 22:00 UTC on the first day is on the next day in northwind's warehouse
    late = [
        o
        for o in boxes["northwind"].world.orders_on(first)
        if o.channel == "tiktok_shop" and o.created_at.astimezone(UTC).hour >= 22
    ]
    assert late
    for o in late:
        assert after["northwind"][o.order_id][0] == first + timedelta(days=1), o.created_at


def brand_token(brands: Brands) -> str:
    from marketing_pipeline.sandbox import brands as sandbox_brands

    env = sandbox_brands.environ(brands)
    return env["NORTHWIND_TIKTOK_SHOP_ACCESS_TOKEN"]


def test_a_vendor_has_partitions_only_for_the_brands_that_use_it(brand_assets, three_brands):
    orders = brand_assets["marketing_pipeline.sources.tiktok_shop.assets"].tiktok_shop_orders
    deliveries = brand_assets["marketing_pipeline.sources.customerio.assets"].customerio_deliveries
    brands_of = lambda a: a.partitions_def.get_partitions_def_for_dimension("brand").get_partition_keys()  # noqa: E731
    assert brands_of(orders) == ["lumenleaf", "northwind", "kumo"]
    assert brands_of(deliveries) == ["lumenleaf", "northwind"]  # kumo does not use Customer.io


def test_a_backfill_of_fewer_days_than_brands_is_planned_per_day_and_refused(brand_assets, three_brands):
    """Dagster groups a multi-partition backfill's runs by whichever dimension has fewer keys: with
    fewer days than brands, one run per day over every brand. Such a run is refused with a clear
    error (one run, one brand's warehouse and account), before any call or write."""
    asset = brand_assets["marketing_pipeline.sources.tiktok_shop.assets"].tiktok_shop_orders
    day = TODAY - timedelta(days=5)
    keys = [brand_day_key(b.id, day) for b in three_brands]
    with dg.instance_for_test() as instance:
        (request,) = plan(asset, keys, instance)
        assert request.tags["dagster/asset_partition_range_start"] == f"lumenleaf|{day}"
        assert request.tags["dagster/asset_partition_range_end"] == f"kumo|{day}"
        result = dg.materialize(
            [asset], tags=request.tags, resources=resources(), instance=instance, raise_on_error=False
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "a run covers one brand's days" in failure.step_failure_data.error.message
    assert all(loaded(b) == {} for b in three_brands)


def test_source_coverage_counts_the_warehouse_brands_materialized_days(warehouse_url, conn, monkeypatch):
    """A day its brand's load materialized empty is loaded; another brand's day is not this one's."""
    from marketing_pipeline.marts.assets import core_and_marts

    monkeypatch.setenv("HISTORY_START_DATE", (TODAY - timedelta(days=10)).isoformat())
    ours, theirs = TODAY - timedelta(days=4), TODAY - timedelta(days=3)
    with dg.instance_for_test() as instance:
        for key in (brand_day_key(DEFAULT_ID, ours), brand_day_key("northwind", theirs)):
            instance.report_runless_asset_event(
                dg.AssetMaterialization("tiktok_shop_orders", partition=str(key))
            )
        assert dg.materialize(
            [core_and_marts],
            selection=["source_coverage"],
            instance=instance,
            resources={"warehouse": WarehouseResource()},
            partition_key=DEFAULT_ID,
        ).success
    status = dict(
        conn.execute(
            "SELECT day, status FROM marts.source_coverage WHERE source = 'tiktok_shop' AND day = ANY(%s)",
            ([ours, theirs],),
        ).fetchall()
    )
    assert status == {ours: "loaded", theirs: "missing"}


def _tick(defs: dg.Definitions, name: str, at: datetime) -> list[dg.RunRequest]:
    schedule = defs.resolve_schedule_def(name)
    # an ephemeral instance, not entered: an entered one leaves Dagster's current instance to the
    # definitions later tests load (as test_automation.py notes)
    context = dg.build_schedule_context(
        instance=dg.DagsterInstance.ephemeral(),
        scheduled_execution_time=at,
        repository_def=defs.get_repository_def(),
    )
    return list(schedule.evaluate_tick(context).run_requests)


def test_each_brand_refreshes_its_own_days_at_its_own_midnight_with_its_own_vendors(brand_defs, monkeypatch):
    names = {s.name for s in brand_defs.schedules if "ingest" in s.name}
    assert names == {
        "daily_ingest_lumenleaf_schedule",
        "daily_ingest_northwind_schedule",
        "daily_ingest_kumo_schedule",
        # Customer.io and TikTok content: only lumenleaf and northwind use them, so a job of their own
        "daily_ingest_for_lumenleaf_northwind_lumenleaf_schedule",
        "daily_ingest_for_lumenleaf_northwind_northwind_schedule",
    }
    north = brand_defs.resolve_schedule_def("daily_ingest_northwind_schedule")
    assert (north.cron_schedule, north.execution_timezone) == ("15 0 * * *", "Europe/Berlin")
    assert (
        brand_defs.resolve_schedule_def("daily_ingest_kumo_schedule").execution_timezone == "Australia/Sydney"
    )

    monkeypatch.delenv("NORTHWIND_GA4_PROPERTY_ID")  # northwind's GA4 unconfigured; the others' not
    berlin = datetime(2026, 6, 15, 0, 15, tzinfo=ZoneInfo("Europe/Berlin"))  # 22:15 UTC on the 14th
    runs = _tick(brand_defs, "daily_ingest_northwind_schedule", berlin)
    assert [r.partition_key for r in runs] == [
        brand_day_key("northwind", date(2026, 6, 14 - i)) for i in range(7)
    ]
    selected = {k.to_user_string() for k in runs[0].asset_selection}
    assert "tiktok_shop_orders" in selected and not any(k.startswith("ga4_") for k in selected)
    assert all(r.tags["unconfigured"] == "ga4" and r.tags["brand"] == "northwind" for r in runs)

    lumen = _tick(brand_defs, "daily_ingest_lumenleaf_schedule", datetime(2026, 6, 15, 0, 15, tzinfo=UTC))
    assert lumen[0].partition_key == brand_day_key("lumenleaf", date(2026, 6, 14))
    assert any(k.to_user_string().startswith("ga4_") for k in lumen[0].asset_selection)
    assert "unconfigured" not in lumen[0].tags
