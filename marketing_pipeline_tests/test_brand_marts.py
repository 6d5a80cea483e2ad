"""No row of one brand in another's marts or in the lists synced to another's Klaviyo account.

Two of the sandbox's brands (Lumen & Leaf, the default, and Northwind Tea) are loaded over HTTP
from their own generated worlds, each into its own warehouse; the marts, the segment snapshot and
the Klaviyo lists are then built through the project's definitions, one brand partition per run.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import psycopg
import pytest

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline.warehouse.engine import database_url
from marketing_pipeline_tests.brand_modules import DEFINITION_MODULES, reload
from marketing_pipeline_tests.conftest import TODAY

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
DAYS = [TODAY - timedelta(days=d) for d in (3, 2, 1)]
FAST = {
    "ops": {"klaviyo_profile_sync": {"config": {"poll_interval_seconds": 0.05, "poll_timeout_seconds": 30}}}
}
BRANDS = ("lumenleaf", "northwind")


def _emails(brand, sql: str) -> set[str]:
    with psycopg.connect(database_url(brand=brand)) as conn:
        return {r[0].strip().lower() for r in conn.execute(sql) if r[0]}


@pytest.fixture
def two_brands_built(warehouse_url, three_brands, brands_sandbox):
    """Three days of TikTok Shop orders of each brand in its own warehouse, then its marts, its
    segment snapshot and its Klaviyo lists, each run for one brand partition."""
    from marketing_pipeline import definitions
    from marketing_pipeline.activation.klaviyo import assets as klaviyo_assets

    boxes, _ = brands_sandbox
    for box in boxes.values():
        box.emulators["klaviyo"].writes.reset()
    # the ingestion assets as a code location loads them for this brands file (and back afterwards)
    tiktok_shop_orders = reload(DEFINITION_MODULES)[
        "marketing_pipeline.sources.tiktok_shop.assets"
    ].tiktok_shop_orders
    try:
        yield _build(three_brands, boxes, tiktok_shop_orders, definitions.defs, klaviyo_assets)
    finally:
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv("MARKETING_BRANDS_FILE")
            reload(DEFINITION_MODULES)


def _build(three_brands, boxes, tiktok_shop_orders, defs, klaviyo_assets):
    default_klaviyo = KlaviyoResource(**three_brands.default.vendor("klaviyo").values(), rate_limit_scale=100)
    with dg.instance_for_test() as instance:
        for brand_id in BRANDS:
            brand = three_brands.get(brand_id)
            tags = {
                "dagster/asset_partition_range_start": str(brand_day_key(brand_id, DAYS[0])),
                "dagster/asset_partition_range_end": str(brand_day_key(brand_id, DAYS[-1])),
            }
            # the source is loaded as today's single-brand ingestion does, into the brand's database
            loaded = dg.materialize(
                [tiktok_shop_orders],
                resources={
                    "tiktok_shop": TikTokShopResource(**brand.vendor("tiktok_shop").values()),
                    "warehouse": WarehouseResource(brand_id=brand_id),
                },
                tags=tags,
                instance=instance,
                run_config=QUIET,
            )
            assert loaded.success
        for brand_id in BRANDS:
            assert (
                defs.resolve_job_def("marts_refresh")
                .execute_in_process(instance=instance, partition_key=brand_id, run_config=QUIET)
                .success
            )
            assert (
                defs.resolve_job_def("customer_segments_daily")
                .execute_in_process(
                    instance=instance, partition_key=brand_day_key(brand_id, DAYS[-1]), run_config=QUIET
                )
                .success
            )
            # the default brand's resources, as the definitions hold them: the run takes its brand's
            synced = dg.materialize(
                [klaviyo_assets.klaviyo_profile_sync, klaviyo_assets.klaviyo_list_sync],
                partition_key=brand_id,
                resources={"klaviyo": default_klaviyo, "warehouse": WarehouseResource()},
                instance=instance,
                run_config={**QUIET, **FAST},
            )
            assert synced.success
    return three_brands, boxes


def test_no_row_of_one_brand_in_another_brands_marts_or_klaviyo_lists(two_brands_built):
    brands, boxes = two_brands_built
    # each brand's generated world, and the buyers its loaded days brought in
    world = {b: {c.email.strip().lower() for c in boxes[b].world.customers} for b in BRANDS}
    bought = {
        b: {
            o.customer.email.strip().lower()
            for d in DAYS
            for o in boxes[b].world.orders_on(d)
            if o.customer.email
        }
        for b in BRANDS
    }
    for mine, other in (BRANDS, BRANDS[::-1]):
        brand = brands.get(mine)
        customers = _emails(brand, "SELECT email FROM core.customers")
        segments = _emails(
            brand,
            "SELECT c.email FROM marts.customer_segments s JOIN core.customers c USING (customer_id)",
        )
        raw = _emails(brand, "SELECT buyer_email FROM raw.tiktok_shop_orders")
        lists = boxes[mine].emulators["klaviyo"].writes
        listed = {e.lower() for name in ("All Customers", "Active Customers") for e in lists.members(name)}
        assert customers and segments and listed, mine
        # everything in this brand's marts and lists is one of its own generated people...
        assert customers <= world[mine] and segments <= world[mine] and listed <= world[mine], mine
        assert customers == raw  # ...exactly the buyers loaded into its warehouse
        # ...and none of the other brand's buyers who are not also this brand's people
        theirs_only = bought[other] - world[mine]
        assert theirs_only, "the worlds should differ"
        assert not theirs_only & (customers | segments | listed), mine
    # the two brands' lists are in their own accounts: northwind's holds no lumenleaf-only buyer
    lumen_lists = boxes["lumenleaf"].emulators["klaviyo"].writes.members("All Customers")
    north_lists = boxes["northwind"].emulators["klaviyo"].writes.members("All Customers")
    assert {e.lower() for e in lumen_lists} != {e.lower() for e in north_lists}
