"""Assets that run ``sql/marts``: the core model, the marts, and source coverage.

Each asset writes in one transaction (readers see the old rows until it commits). The core tables,
source coverage, attribution and the daily marts rewrite only the days (and customers) whose inputs
changed since they last ran, or everything when they cannot tell (``scope.py``); RFM keeps its
closed months and writes only the rows of the running month that changed; cohorts sum per-customer
rows kept up to date by core_orders. ``customer_segments``
is partitioned by day: a snapshot *as of* each day, so past days are kept and only the refreshed
days are rewritten; a customer's row is stored once per stretch of days over which it does not
change (``marts.customer_segment_spans``), and a new day computes only the customers whose row can
move. bench/marts.py times both paths at a million orders.

Every asset is partitioned by brand (``brand_partitions.py``): a run builds one brand's warehouse
(``warehouse.for_brand``), its days cut in that brand's zone, so no row of one brand can reach
another's marts. The partitions come from the brands file, so the assets are built when first
asked for (``assets.core_orders``, ``build()``), when the definitions load, not when this module is
imported (``rebuild.py`` and the tests import ``build_segments`` from it).
"""

import time
from datetime import date
from functools import cache

import dagster as dg

from marketing_pipeline import clock, settings
from marketing_pipeline.brand_partitions import (
    brand_days,
    brand_of,
    build_brand_day_partitions,
    build_brand_partitions,
)
from marketing_pipeline.marts import coverage, sqlfiles
from marketing_pipeline.marts import sources as src
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings import marts as config
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.warehouse import WarehouseResource

COMMON = dict(group_name="marts", kinds={"postgres"}, tags={"layer": "marts"})
# A segment backfill: one run per brand (a run never spans brands), up to a year of days per run.
SEGMENTS_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=366)


def brand_warehouse(context, warehouse: WarehouseResource) -> tuple[Brand, WarehouseResource]:
    """The run's brand and its warehouse (the default brand's resource gives the others')."""
    brand = brand_of(context)
    return brand, warehouse.for_brand(brand)


def _build(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, target: str, table: str
) -> dg.MaterializeResult:
    started = time.monotonic()
    brand, warehouse = brand_warehouse(context, warehouse)
    with config.brand_zone(brand.timezone), warehouse.transaction() as conn:
        sqlfiles.apply_settings(conn, config.gucs())
        used = sqlfiles.build(conn, target)
        rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (constant)
    mode, scope = used.pop("mode", "full"), used.pop("scope", "")
    absent = sorted(k for k, v in used.items() if v == "absent")
    if absent:
        context.log.warning(f"{brand.id} {table}: sources absent, built without them: {', '.join(absent)}")
    return dg.MaterializeResult(
        metadata={
            "brand": dg.MetadataValue.text(brand.id),
            "rows": dg.MetadataValue.int(rows),
            "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            "sources_used": dg.MetadataValue.text(
                ", ".join(sorted(k for k, v in used.items() if v == "used")) or "-"
            ),
            "sources_absent": dg.MetadataValue.text(", ".join(absent) or "-"),
            "refresh": dg.MetadataValue.text(f"{mode}: {scope}" if scope else mode),
        }
    )


def materialized_days(keys, brand: Brand) -> set[str]:
    """The days of ``brand`` among a raw asset's materialized partition keys: ``brand|day`` keys of
    this brand, and plain-day keys (a source not yet partitioned by brand) for the default brand,
    whose warehouse such a source loads."""
    out = set()
    for key in keys:
        owner, sep, day = str(key).rpartition("|")
        if (sep and owner == brand.id) or (not sep and brand.is_default):
            out.add(day)
    return out


def source_coverage_body(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, warehouse = brand_warehouse(context, warehouse)
    materialized = {}
    for source in src.SOURCES:
        keys = [
            materialized_days(context.instance.get_materialized_partitions(dg.AssetKey(k)), brand)
            for k in source.asset_keys
        ]
        if keys:
            materialized[source.name] = set.intersection(*keys)
    first = settings.load().history_start
    last = clock.today(brand.tz)
    with config.brand_zone(brand.timezone), warehouse.transaction() as conn:
        sqlfiles.apply_settings(conn, config.gucs())
        summary, mode = coverage.refresh(conn, first, last, materialized)
    return dg.MaterializeResult(
        metadata={
            "brand": dg.MetadataValue.text(brand.id),
            **{
                name: dg.MetadataValue.text(", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
                for name, counts in summary.items()
            },
            "refresh": dg.MetadataValue.text(mode),
        }
    )


def customer_segments_body(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, days = brand_days(context)
    warehouse = warehouse.for_brand(brand)
    started = time.monotonic()
    with config.brand_zone(brand.timezone), warehouse.transaction() as conn:
        build_segments(conn, days[0], days[-1])
        counts = dict(
            conn.execute(
                "SELECT segment, count(*) FROM marts.customer_segments WHERE as_of = %s GROUP BY 1",
                (days[-1],),
            )
        )
    return dg.MaterializeResult(
        metadata={
            "brand": dg.MetadataValue.text(brand.id),
            "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            **{f"segment_{k}": dg.MetadataValue.int(v) for k, v in sorted(counts.items())},
        }
    )


# name -> (deps, description); an asset without its own body runs the SQL target of its name.
K = dg.AssetKey
RAW = "raw"  # stands for every raw asset (src.raw_asset_keys())
SPECS: dict[str, tuple[list, str]] = {
    "source_coverage": (
        [RAW],
        "Which source covered which brand-local day (marts.source_coverage): loaded, missing or "
        "source_absent, from the raw tables and Dagster's materialized partitions.",
    ),
    "core_customers": (
        [RAW],
        "core.customers and the append-only identity map core.customer_keys: one stable id per "
        "person across TikTok Shop, the website, Klaviyo and Customer.io (email, then phone, then platform "
        "id), within the brand: people never merge across brands.",
    ),
    "core_orders": (
        ["core_customers"],
        "core.orders and core.order_lines for every sales channel, with cancellations and refunds.",
    ),
    "core_customer_names": (
        ["core_orders"],
        "core.customer_names: the latest first and last name each customer gave on an order.",
    ),
    "core_email_events": (
        ["core_customers"],
        "core.email_events: Klaviyo and Customer.io sends, deliveries, opens, clicks, "
        "unsubscribes and bounces in one shape.",
    ),
    "core_sessions": ([RAW], "core.sessions: GA4 sessions per day and source/medium."),
    "core_content_daily": (
        [RAW],
        "core.content_daily: TikTok video views, engagements and shop clicks per day.",
    ),
    "attribution": (
        ["core_orders", "core_email_events"],
        "First and last touch of every order (UTM, TikTok Shop, email clicks within the window).",
    ),
    "channel_daily": (
        ["core_orders"],
        "Revenue, orders, AOV, new and returning customers per day and sales channel.",
    ),
    "email_daily": (
        ["core_email_events", "attribution"],
        "Email performance per day and platform, with attributed conversions and revenue.",
    ),
    "funnel_daily": (
        ["core_orders", "core_sessions", "core_content_daily", "source_coverage"],
        "Views to repeat orders per day and channel; NULL where a source did not cover the day.",
    ),
    "rfm": (["core_orders"], "Monthly RFM snapshots: quintile scores and segment names per customer."),
    "cohorts": (["core_orders"], "Monthly acquisition cohorts: retention and revenue by months since."),
}
UNPARTITIONED_NAMES = list(SPECS)  # partitioned by brand only; customer_segments is brand × day


def _deps(names: list) -> list[dg.AssetKey]:
    out: list[dg.AssetKey] = []
    for name in names:
        out += src.raw_asset_keys() if name == RAW else [K(name)]
    return out


def _unpartitioned(name: str, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    deps, description = SPECS[name]

    @dg.asset(name=name, **COMMON, deps=_deps(deps), partitions_def=partitions, description=description)
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        if name == "source_coverage":
            return source_coverage_body(context, warehouse)
        table = f"core.{name[5:]}" if name.startswith("core_") else f"marts.{name}"
        return _build(context, warehouse, name, table)

    return _asset


@cache
def _built(brand_ids: tuple[str, ...], history_start: date) -> dict[str, dg.AssetsDefinition]:
    brands = build_brand_partitions()
    out = {name: _unpartitioned(name, brands) for name in UNPARTITIONED_NAMES}

    @dg.asset(
        **COMMON,
        deps=[K("core_orders"), K("core_customers"), K("customer_predictions")],
        partitions_def=build_brand_day_partitions(),
        backfill_policy=SEGMENTS_BACKFILL_POLICY,
        description="Every known person's segment and lifecycle as of the partition's day, on the "
        "brand's calendar.",
    )
    def customer_segments(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        return customer_segments_body(context, warehouse)

    out["customer_segments"] = customer_segments
    return out


def build() -> dict[str, dg.AssetsDefinition]:
    """The assets for the brands file and settings as they are now (built once per brands list)."""
    return _built(brand_settings.load().ids, settings.load().history_start)


def __getattr__(name: str):
    # ``assets.core_orders``, ``assets.UNPARTITIONED``: built on first access, not at import.
    if name == "UNPARTITIONED":
        built = build()
        return [built[n] for n in UNPARTITIONED_NAMES]
    if name in SPECS or name == "customer_segments":
        return build()[name]
    raise AttributeError(name)


def build_segments(conn, first: date, last: date) -> None:
    sqlfiles.apply_settings(
        conn, {**config.gucs(), "first_day": first.isoformat(), "last_day": last.isoformat()}
    )
    sqlfiles.run(conn, "customer_segments")
    sqlfiles.run(conn, "customer_segments_predictions")
    sqlfiles.run(conn, "customer_segments_store")
