"""Demo step (after ingest): rebuild the core model and marts through Dagster, then print the
segments and the funnel of the demo window and where to open the dashboard."""

from marketing_pipeline.activation.klaviyo.config import DEFAULT_LIST_SEGMENTS
from marketing_pipeline.definitions import defs
from marketing_pipeline.marts import figures

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def run(ctx) -> None:
    refresh = defs.resolve_job_def("marts_refresh").execute_in_process(
        instance=ctx.instance, tags={"source": "demo"}, run_config=QUIET, raise_on_error=False
    )
    if not refresh.success:
        raise RuntimeError("marts_refresh failed; see the run in the Dagster UI")
    segments = defs.resolve_job_def("customer_segments_daily").execute_in_process(
        instance=ctx.instance,
        run_config=QUIET,
        raise_on_error=False,
        tags={
            "dagster/asset_partition_range_start": ctx.first,
            "dagster/asset_partition_range_end": ctx.last,
            "source": "demo",
        },
    )
    if not segments.success:
        raise RuntimeError("customer_segments_daily failed; see the run in the Dagster UI")


def summary(conn, ctx) -> list[str]:
    """The demo window's figures, from ``marts.figures``: the same numbers as the dashboard."""
    first, last = ctx.days[0], ctx.days[-1]
    lines = ["", f"Customer segments as of {ctx.last}:"]
    for segment, count in conn.execute(
        "SELECT segment, count(*) FROM marts.customer_segments WHERE as_of = %s GROUP BY 1 ORDER BY 2 DESC",
        (last,),
    ):
        lines.append(f"  {segment:<20}{count:>8,}")
    as_of = figures.segments_day(conn, last)
    people = figures.audiences(conn, as_of)
    lines.append(f"Audiences as of {as_of} (the Klaviyo lists; suppressed people left out):")
    for name, segment in DEFAULT_LIST_SEGMENTS.items():
        lines.append(f"  {name:<20}{people.get(segment, 0):>8,}")
    lines += ["", f"Orders {ctx.first} .. {ctx.last} (cancelled orders are not orders):"]
    for r in figures.orders(conn, first, last):
        lines.append(f"  {r['channel']:<12}{r['orders']:>8,} orders {r['revenue']:>14,.2f} net revenue")
    lines += ["", f"Funnel {ctx.first} .. {ctx.last} (n/a: source not loaded for every day):"]
    for r in figures.funnel(conn, first, last):
        shown = "n/a" if r["value"] is None else f"{r['value']:,}"
        if r["days_missing"]:
            shown += f"  ({r['days_missing']} day(s) missing)"
        conv = "" if r["conversion"] is None else f"  {100 * r['conversion']:.1f}% of the stage before"
        lines.append(f"  {r['channel']:<9}{r['stage']:<18}{shown:>12}{conv}")
    lines += ["", f"Top email campaigns and flows {ctx.first} .. {ctx.last} (last touch):"]
    for r in figures.email_top(conn, first, last, limit=5):
        lines.append(
            f"  {r['platform']:<11}{r['kind']:<9}{r['name'][:40]:<42}{r['orders']:>6,}{r['revenue']:>12,.2f}"
        )
    absent = [
        s for (s,) in conn.execute("SELECT source FROM marts.source_freshness WHERE source_absent ORDER BY 1")
    ]
    if absent:
        lines.append(f"  sources not connected: {', '.join(absent)}")
    lines += [
        "",
        "Dashboard: run `marketing-pipeline web` (or `make web`) and open "
        f"http://127.0.0.1:8000/dashboard?start={ctx.first}&end={ctx.last} (the same range as this summary)",
    ]
    return lines
