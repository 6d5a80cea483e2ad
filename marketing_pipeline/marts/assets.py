"""Assets that run ``sql/marts``: the core model, the marts, and source coverage.

Each asset writes in one transaction (readers see the old rows until it commits). The core tables,
source coverage, attribution and the daily marts rewrite only the days (and customers) whose inputs
changed since they last ran, or everything when they cannot tell (``scope.py``); RFM keeps its
closed months and writes only the rows of the running month that changed; cohorts sum per-customer
rows kept up to date by core_orders. ``customer_segments``
is partitioned by day: a snapshot *as of* each day, so past days are kept and only the refreshed
days are rewritten; a customer's row is stored once per stretch of days over which it does not change
(``marts.customer_segment_spans``), and a new day computes only the customers whose row can move. bench/marts.py times both paths at a million orders.
"""

import time
from datetime import date

import dagster as dg

from marketing_pipeline import clock, settings
from marketing_pipeline.marts import coverage, sqlfiles
from marketing_pipeline.marts import sources as src
from marketing_pipeline.partitions import daily_partitions, partition_days
from marketing_pipeline.settings import marts as config
from marketing_pipeline.warehouse import WarehouseResource

COMMON = dict(group_name="marts", kinds={"postgres"}, tags={"layer": "marts"})


def _build(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, target: str, table: str
) -> dg.MaterializeResult:
    started = time.monotonic()
    with warehouse.transaction() as conn:
        sqlfiles.apply_settings(conn, config.gucs())
        used = sqlfiles.build(conn, target)
        rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (constant)
    mode, scope = used.pop("mode", "full"), used.pop("scope", "")
    absent = sorted(k for k, v in used.items() if v == "absent")
    if absent:
        context.log.warning(f"{table}: sources absent, built without them: {', '.join(absent)}")
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(rows),
            "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            "sources_used": dg.MetadataValue.text(
                ", ".join(sorted(k for k, v in used.items() if v == "used")) or "-"
            ),
            "sources_absent": dg.MetadataValue.text(", ".join(absent) or "-"),
            "refresh": dg.MetadataValue.text(f"{mode}: {scope}" if scope else mode),
        }
    )


@dg.asset(
    **COMMON,
    deps=src.raw_asset_keys(),
    description="Which source covered which brand-local day (marts.source_coverage): loaded, missing or "
    "source_absent, from the raw tables and Dagster's materialized partitions.",
)
def source_coverage(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    materialized = {}
    for source in src.SOURCES:
        keys = [set(context.instance.get_materialized_partitions(dg.AssetKey(k))) for k in source.asset_keys]
        if keys:
            materialized[source.name] = set.intersection(*keys)
    first = settings.load().history_start
    last = clock.today(settings.load().tz)
    with warehouse.transaction() as conn:
        sqlfiles.apply_settings(conn, config.gucs())
        summary, mode = coverage.refresh(conn, first, last, materialized)
    return dg.MaterializeResult(
        metadata={
            **{
                name: dg.MetadataValue.text(", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
                for name, counts in summary.items()
            },
            "refresh": dg.MetadataValue.text(mode),
        }
    )


@dg.asset(
    **COMMON,
    deps=src.raw_asset_keys(),
    description="core.customers and the append-only identity map core.customer_keys: one stable id per "
    "person across TikTok Shop, the website, Klaviyo and Customer.io (email, then phone, then platform id).",
)
def core_customers(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    return _build(context, warehouse, "core_customers", "core.customers")


@dg.asset(
    **COMMON,
    deps=[core_customers],
    description="core.orders and core.order_lines for every sales channel, with cancellations and refunds.",
)
def core_orders(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    return _build(context, warehouse, "core_orders", "core.orders")


@dg.asset(
    **COMMON,
    deps=[core_orders],
    description="core.customer_names: the latest first and last name each customer gave on an order.",
)
def core_customer_names(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return _build(context, warehouse, "core_customer_names", "core.customer_names")


@dg.asset(
    **COMMON,
    deps=[core_customers],
    description="core.email_events: Klaviyo and Customer.io sends, deliveries, opens, clicks, "
    "unsubscribes and bounces in one shape.",
)
def core_email_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return _build(context, warehouse, "core_email_events", "core.email_events")


@dg.asset(
    **COMMON, deps=src.raw_asset_keys(), description="core.sessions: GA4 sessions per day and source/medium."
)
def core_sessions(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    return _build(context, warehouse, "core_sessions", "core.sessions")


@dg.asset(
    **COMMON,
    deps=src.raw_asset_keys(),
    description="core.content_daily: TikTok video views, engagements and shop clicks per day.",
)
def core_content_daily(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    return _build(context, warehouse, "core_content_daily", "core.content_daily")


def _mart(name: str, deps: list, description: str):
    @dg.asset(name=name, **COMMON, deps=deps, description=description)
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        return _build(context, warehouse, name, f"marts.{name}")

    return _asset


attribution = _mart(
    "attribution",
    [core_orders, core_email_events],
    "First and last touch of every order (UTM, TikTok Shop, email clicks within the window).",
)
channel_daily = _mart(
    "channel_daily",
    [core_orders],
    "Revenue, orders, AOV, new and returning customers per day and sales channel.",
)
email_daily = _mart(
    "email_daily",
    [core_email_events, attribution],
    "Email performance per day and platform, with attributed conversions and revenue.",
)
funnel_daily = _mart(
    "funnel_daily",
    [core_orders, core_sessions, core_content_daily, source_coverage],
    "Views to repeat orders per day and channel; NULL where a source did not cover the day.",
)
rfm = _mart("rfm", [core_orders], "Monthly RFM snapshots: quintile scores and segment names per customer.")
cohorts = _mart(
    "cohorts", [core_orders], "Monthly acquisition cohorts: retention and revenue by months since."
)


@dg.asset(
    **COMMON,
    deps=[core_orders, core_customers, dg.AssetKey("customer_predictions")],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Every known person's segment and lifecycle as of the partition's day.",
)
def customer_segments(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    days = partition_days(context)
    started = time.monotonic()
    with warehouse.transaction() as conn:
        build_segments(conn, days[0], days[-1])
        counts = dict(
            conn.execute(
                "SELECT segment, count(*) FROM marts.customer_segments WHERE as_of = %s GROUP BY 1",
                (days[-1],),
            )
        )
    return dg.MaterializeResult(
        metadata={
            "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            **{f"segment_{k}": dg.MetadataValue.int(v) for k, v in sorted(counts.items())},
        }
    )


def build_segments(conn, first: date, last: date) -> None:
    sqlfiles.apply_settings(
        conn, {**config.gucs(), "first_day": first.isoformat(), "last_day": last.isoformat()}
    )
    sqlfiles.run(conn, "customer_segments")
    sqlfiles.run(conn, "customer_segments_predictions")
    sqlfiles.run(conn, "customer_segments_store")


UNPARTITIONED = [
    source_coverage,
    core_customers,
    core_orders,
    core_customer_names,
    core_email_events,
    core_sessions,
    core_content_daily,
    attribution,
    channel_daily,
    email_daily,
    funnel_daily,
    rfm,
    cohorts,
]
