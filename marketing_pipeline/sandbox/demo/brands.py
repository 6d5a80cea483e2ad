"""Demo step: the sandbox's other brands, each loaded into its own warehouse through the same jobs
(every source for the window, its marts and today's segments, one brand partition per run), then
every brand side by side with the figures the dashboard's overview shows (``brand_figures``)."""

from __future__ import annotations

import time
from datetime import timedelta

import psutil

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.definitions import defs
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sandbox import brands as sandbox_brands
from marketing_pipeline.sandbox.demo.ingest import ingest_jobs
from marketing_pipeline.sandbox.website.export import write_csv
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.sources.website.csv_import import import_csv
from marketing_pipeline.warehouse.engine import connect, database_url
from marketing_pipeline.web.dashboard_overview import brand_figures

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _execute(ctx, job: str, **kwargs) -> None:
    result = defs.resolve_job_def(job).execute_in_process(
        instance=ctx.instance, run_config=QUIET, raise_on_error=False, **kwargs
    )
    if not result.success:
        raise RuntimeError(f"{job} failed; see the run in the Dagster UI")


def _website_orders(ctx, brand) -> None:
    """The brand's storefront export for the window, imported as the default brand's is (the orders
    Klaviyo sees are matched to these customers)."""
    start, end = day_bounds(ctx.days[0], brand.tz)[0], day_bounds(ctx.days[-1], brand.tz)[1]
    world = sandbox_brands.world(brand)
    orders = (o for o in world.orders_between(start, end) if o.channel == "website")
    path = ctx.runtime.dagster_home.parent / "demo" / f"website_orders_{brand.id}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(path, orders)
    with connect(database_url(brand=brand), autocommit=True) as conn:
        import_csv(conn, path, source="demo", tz=brand.timezone)


def run(ctx) -> None:
    process = psutil.Process()
    ctx.extra["brands"] = {}
    for brand in brand_settings.load():
        if brand.is_default:
            continue  # loaded by the steps before
        started, rss = time.monotonic(), process.memory_info().rss
        window = {
            "dagster/asset_partition_range_start": str(brand_day_key(brand.id, ctx.first)),
            "dagster/asset_partition_range_end": str(brand_day_key(brand.id, ctx.last)),
            "source": "demo",
        }
        _website_orders(ctx, brand)
        for job in ingest_jobs(brand.id):
            _execute(ctx, job, tags=window)
        _execute(ctx, "marts_refresh", tags={"source": "demo"}, partition_key=brand.id)
        last = {k: str(brand_day_key(brand.id, ctx.last)) for k in ("start", "end")}
        _execute(
            ctx,
            "customer_segments_daily",
            tags={f"dagster/asset_partition_range_{k}": v for k, v in last.items()} | {"source": "demo"},
        )
        ctx.extra["brands"][brand.id] = (
            time.monotonic() - started,
            max(process.memory_info().rss - rss, 0) / 2**20,
        )


def summary(conn, ctx) -> list[str]:
    brands = brand_settings.load()
    lines = [
        "",
        f"Every brand, each from its own warehouse (the dashboard's overview, /dashboard/brands), "
        f"the 7 days to {ctx.last}:",
        f"  {'brand':<16}{'zone':<20}{'orders':>8}{'revenue':>14}  {'loaded in':>10}",
    ]
    for brand in brands:
        with connect(database_url(brand=brand), autocommit=True) as brand_conn:
            week = brand_figures(brand_conn, ctx.days[-1] + timedelta(days=1))["windows"][0]
        took = ctx.extra.get("brands", {}).get(brand.id)
        loaded = f"{took[0]:.0f}s +{took[1]:.0f}MB" if took else "steps above"
        lines.append(
            f"  {brand.name:<16}{brand.timezone:<20}{week['orders']:>8,}"
            f"{week['revenue']:>10,.0f} {brand.currency}  {loaded:>10}"
        )
    lines.append(
        "  (each in its own currency and on its own calendar; loaded in: time and memory of its step)"
    )
    return lines
