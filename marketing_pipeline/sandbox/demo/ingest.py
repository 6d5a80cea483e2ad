"""Demo step: every source for the demo window in one Dagster run, the TikTok Shop order history
before it in one more (one run over a partition range, not a run per day), and raw table sizes."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.definitions import defs
from marketing_pipeline.schedules import job_brands
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.sources.tiktok_shop.assets import tiktok_shop_orders
from marketing_pipeline.sources.tiktok_shop.resource import from_env as tiktok_from_env
from marketing_pipeline.warehouse import WarehouseResource


def _key(day) -> str:
    """The default brand's partition of ``day`` (the single-brand demo's one brand)."""
    return str(brand_day_key(brand_settings.load().default.id, day))


def _history(ctx) -> None:
    before = ctx.days[0] - timedelta(days=1)
    if not ctx.history or ctx.history[0] > before:
        return
    dg.materialize(
        [tiktok_shop_orders],
        instance=ctx.instance,
        resources={"tiktok_shop": tiktok_from_env(), "warehouse": WarehouseResource()},
        tags={
            "dagster/asset_partition_range_start": _key(ctx.history_first),
            "dagster/asset_partition_range_end": _key(before),
            "source": "demo",
        },
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )


def ingest_jobs(brand_id: str) -> list[str]:
    """The daily ingest jobs with partitions for the brand: ``daily_ingest``, and the job of the
    vendors only some brands use when a brands file makes them a job of their own."""
    return [
        job.name
        for job in defs.jobs
        if (job.name == "daily_ingest" or job.name.startswith("daily_ingest_for_"))
        and brand_id in job_brands(job)
    ]


def run(ctx) -> None:
    _history(ctx)
    for name in ingest_jobs(brand_settings.load().default.id):
        result = defs.resolve_job_def(name).execute_in_process(
            instance=ctx.instance,
            tags={
                "dagster/asset_partition_range_start": _key(ctx.first),
                "dagster/asset_partition_range_end": _key(ctx.last),
                "source": "demo",
            },
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            raise_on_error=True,
        )
        if not result.success:
            raise RuntimeError(f"{name} failed; see the run in the Dagster UI")
        ctx.extra.setdefault("ingest_run_id", result.run_id)


def summary(conn, ctx) -> list[str]:
    lines = ["", "Rows per raw table:"]
    tables = conn.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema = 'raw' ORDER BY 1"
    ).fetchall()
    for (name,) in tables:
        count = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # noqa: S608 (names from the catalog)
        lines.append(f"  {name:<40} {count:>10,}")
    lines += ["", "TikTok Shop orders and revenue per day:", f"  {'day':<12}{'orders':>8}{'revenue':>14}"]
    for day, orders, revenue in conn.execute(
        "SELECT partition_date, count(*), sum(total_amount) FROM raw.tiktok_shop_orders "
        "WHERE partition_date BETWEEN %s AND %s AND status <> 'CANCELLED' GROUP BY 1 ORDER BY 1",
        (ctx.days[0], ctx.days[-1]),
    ):
        lines.append(f"  {day.isoformat():<12}{orders:>8}{revenue:>14,.2f}")
    return lines
