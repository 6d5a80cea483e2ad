"""Assets that run ``sql/marts``: the core model, the marts, and source coverage.

The core tables and marts are the assets of one step, ``core_and_marts``: its builders run side by
side (``lanes.py``, ``MARTS_LANES``), each as soon as the builders it reads have committed, and
each writes in one transaction (readers see the old rows until it commits; core.customers and
core.orders commit only what passed their audits, ``gates.py``). The core tables,
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
asked for (``assets.core_and_marts``, ``build()``), when the definitions load, not when this module is
imported (``rebuild.py`` and the tests import ``build_segments`` from it).
"""

import time
from collections.abc import Iterator
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
from marketing_pipeline.marts import coverage, lanes, sqlfiles
from marketing_pipeline.marts import sources as src
from marketing_pipeline.marts.gates import GATES, Gate, holds
from marketing_pipeline.marts.sessions import LaneSessions
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings import marts as config
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline.warehouse.engine import libpq_url

COMMON = dict(group_name="marts", kinds={"postgres"}, tags={"layer": "marts"})
# A segment backfill: one run per brand (a run never spans brands), up to a year of days per run.
SEGMENTS_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=366)


def brand_warehouse(context, warehouse: WarehouseResource) -> tuple[Brand, WarehouseResource]:
    """The run's brand and its warehouse (the default brand's resource gives the others')."""
    brand = brand_of(context)
    return brand, warehouse.for_brand(brand)


def _metadata(brand: Brand, started: float, **values) -> dict:
    return {
        "brand": dg.MetadataValue.text(brand.id),
        "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
        **values,
    }


# Above this many rows a table's count is the planner's (see _rows); below it count(*) is cheap.
EXACT_ROWS_BELOW = 100_000


def _rows(conn, table: str) -> int:
    """The table's rows: counted when few, else the planner's estimate (its catalog count scaled to
    the table's pages now, within about 1 % at a million rows). An exact count(*) read the 2.8M email
    events and RFM rows again on every run, about half the SQL of a daily refresh."""
    plan = conn.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {table}").fetchone()[0]  # noqa: S608 (constant)
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    if estimate >= EXACT_ROWS_BELOW:
        return estimate
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (constant)


def _table_step(
    sessions: LaneSessions, gucs: dict[str, str], target: str, gates: list[Gate]
) -> tuple[dict | None, list[dg.AssetCheckResult]]:
    """One SQL target in its own transaction, its audits run before it commits (``gates.py``): what
    it used, its mode and its rows as metadata, and the audits' results; no metadata when an audit
    failed and nothing was committed."""
    table = f"core.{target[5:]}" if target.startswith("core_") else f"marts.{target}"
    with sessions.transaction() as conn:
        sqlfiles.apply_settings(conn, gucs)
        used = sqlfiles.build(conn, target)
        checks = [g.result(conn) for g in gates]
        if holds(checks):
            conn.rollback()  # readers keep the last rows that passed
            return None, checks
        rows = _rows(conn, "marts.rfm_scores" if target == "rfm" else table)
    mode, scope = used.pop("mode", "full"), used.pop("scope", "")
    absent = sorted(k for k, v in used.items() if v == "absent")
    return {
        "rows": dg.MetadataValue.int(rows),
        "sources_used": dg.MetadataValue.text(
            ", ".join(sorted(k for k, v in used.items() if v == "used")) or "-"
        ),
        "sources_absent": dg.MetadataValue.text(", ".join(absent) or "-"),
        "refresh": dg.MetadataValue.text(f"{mode}: {scope}" if scope else mode),
    }, checks


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


def materialized_by_source(instance: dg.DagsterInstance, brand: Brand) -> dict[str, set[str]]:
    """For each source, the brand's days every one of its raw assets has materialized."""
    materialized = {}
    for source in src.SOURCES:
        keys = [
            materialized_days(instance.get_materialized_partitions(dg.AssetKey(k)), brand)
            for k in source.asset_keys
        ]
        if keys:
            materialized[source.name] = set.intersection(*keys)
    return materialized


def _coverage_step(
    sessions: LaneSessions,
    gucs: dict[str, str],
    brand: Brand,
    materialized: dict[str, set[str]],
    gates: list[Gate],
) -> tuple[dict, list[dg.AssetCheckResult]]:
    with sessions.transaction() as conn:
        sqlfiles.apply_settings(conn, gucs)
        summary, mode = coverage.refresh(
            conn, settings.load().history_start, clock.today(brand.tz), materialized
        )
        checks = [g.result(conn) for g in gates]  # warnings only: coverage is always committed
    return {
        **{
            name: dg.MetadataValue.text(", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
            for name, counts in summary.items()
        },
        "refresh": dg.MetadataValue.text(mode),
    }, checks


def build_model(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator:
    """The selected core tables and marts of the run's brand, side by side in ``config.lanes()``
    lanes (each builder its own transaction, started once the builders it reads have committed),
    each audited by its blocking checks before it commits; results are yielded as builders finish."""
    brand, warehouse = brand_warehouse(context, warehouse)
    names = [n for n in UNPARTITIONED_NAMES if K(n) in context.selected_asset_keys]
    gates = [g for g in GATES if g.key in context.selected_asset_check_keys]
    with config.brand_zone(brand.timezone):
        gucs = config.gucs()  # read here: the zone is not carried into the lanes' threads
    materialized = materialized_by_source(context.instance, brand) if "source_coverage" in names else {}
    sessions = LaneSessions(libpq_url(warehouse.url()))  # one per lane, for the run (sessions.py)

    def step(name: str) -> tuple[dict | None, list[dg.AssetCheckResult]]:
        started = time.monotonic()
        own = [g for g in gates if g.asset == name]
        if name == "source_coverage":
            values, checks = _coverage_step(sessions, gucs, brand, materialized, own)
        else:
            values, checks = _table_step(sessions, gucs, name, own)
        return (None if values is None else _metadata(brand, started, **values)), checks

    errors = []
    try:
        for outcome in lanes.run(
            names,
            {n: SPECS[n][0] for n in names},
            step,
            lanes=config.lanes(),
            holds=lambda name, value: holds(value[1]),
        ):
            if outcome.error is not None:
                context.log.error(f"{brand.id} {outcome.name} failed: {outcome.error!r}")
                errors.append(outcome.error)
            elif outcome.skipped_because:
                context.log.warning(f"{brand.id} {outcome.name} not built: {outcome.skipped_because}")
            else:
                metadata, results = outcome.value
                if metadata is None:
                    context.log.error(f"{brand.id} {outcome.name} not committed: an audit failed")
                else:
                    absent = metadata.get("sources_absent")
                    if absent and absent.value != "-":
                        context.log.warning(
                            f"{brand.id} {outcome.name}: sources absent, built without them: {absent.value}"
                        )
                    yield dg.MaterializeResult(asset_key=K(outcome.name), metadata=metadata)
                yield from results
    finally:
        sessions.close()
    if errors:
        raise errors[0]


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


# name -> (deps, description); an asset without its own body runs the SQL target of its name. Of the
# builders a free lane could start, the one with the longest chain of readers goes first, then the
# first in this order (lanes.py): the heavier go before the light ones that read the same tables.
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
    "rfm": (["core_orders"], "Monthly RFM snapshots: quintile scores and segment names per customer."),
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
    "cohorts": (["core_orders"], "Monthly acquisition cohorts: retention and revenue by months since."),
}
UNPARTITIONED_NAMES = list(SPECS)  # partitioned by brand only; customer_segments is brand × day


def _deps(names: list) -> list[dg.AssetKey]:
    out: list[dg.AssetKey] = []
    for name in names:
        out += src.raw_asset_keys() if name == RAW else [K(name)]
    return out


def _model(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(name, deps=_deps(deps), description=description, skippable=True, **COMMON)
        for name, (deps, description) in SPECS.items()
    ]

    @dg.multi_asset(
        name="core_and_marts",
        specs=specs,
        check_specs=[g.spec() for g in GATES],
        partitions_def=partitions,
        can_subset=True,
        description="One brand's core tables and marts in one step, built side by side (MARTS_LANES).",
    )
    def core_and_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator:
        yield from build_model(context, warehouse)

    return core_and_marts


@cache
def _built(brand_ids: tuple[str, ...], history_start: date) -> dict[str, dg.AssetsDefinition]:
    out = {"core_and_marts": _model(build_brand_partitions())}

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
    if name in ("core_and_marts", "customer_segments"):
        return build()[name]
    raise AttributeError(name)


def build_segments(conn, first: date, last: date) -> None:
    # Snapshots are kept: never written from core tables a crash emptied (migration 243).
    conn.execute("SELECT marts.require_built('core_customers', 'core_orders')")
    sqlfiles.apply_settings(
        conn, {**config.gucs(), "first_day": first.isoformat(), "last_day": last.isoformat()}
    )
    sqlfiles.run(conn, "customer_segments")
    sqlfiles.run(conn, "customer_segments_predictions")
    sqlfiles.run(conn, "customer_segments_store")
