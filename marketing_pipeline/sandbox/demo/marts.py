"""Demo step (after ingest): rebuild the core model and marts through Dagster, then print the
segments and the funnel of the demo window and where to open the dashboard."""

from marketing_pipeline.activation.klaviyo.config import DEFAULT_LIST_SEGMENTS
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.definitions import defs
from marketing_pipeline.marts import figures
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.web.dashboard_data import default_range

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def run(ctx) -> None:
    brand = brand_settings.load().default.id  # the single-brand demo: its one brand's partition
    refresh = defs.resolve_job_def("marts_refresh").execute_in_process(
        instance=ctx.instance,
        tags={"source": "demo"},
        run_config=QUIET,
        raise_on_error=False,
        partition_key=brand,
    )
    if not refresh.success:
        raise RuntimeError("marts_refresh failed; see the run in the Dagster UI")
    # CLV models as of the demo's last day, the window's last four weeks held out
    config = {"ops": {"customer_predictions": {"config": {"as_of": ctx.last, "holdout_weeks": 4}}}}
    defs.resolve_job_def("customer_predictions_monthly").execute_in_process(
        instance=ctx.instance,
        tags={"source": "demo"},
        run_config={**QUIET, **config},
        raise_on_error=False,
        partition_key=brand,
    )
    segments = defs.resolve_job_def("customer_segments_daily").execute_in_process(
        instance=ctx.instance,
        run_config=QUIET,
        raise_on_error=False,
        tags={
            "dagster/asset_partition_range_start": str(brand_day_key(brand, ctx.first)),
            "dagster/asset_partition_range_end": str(brand_day_key(brand, ctx.last)),
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
    lines += _predictions(conn, ctx)
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
    lines += _movement(conn, last)
    start, end = default_range(conn)
    if (start, end) == (first, last):
        where = f"http://127.0.0.1:8000/dashboard (its default range, {ctx.first} .. {ctx.last}, is this summary's)"
    else:
        where = f"http://127.0.0.1:8000/dashboard?start={ctx.first}&end={ctx.last} (this summary's range)"
    lines += ["", f"Dashboard: run `marketing-pipeline web` (or `make web`) and open {where}"]
    return lines


def _movement(conn, last) -> list[str]:
    """What the history gives the dashboard: RFM snapshots to compare and cohorts to follow."""
    snapshots, moved = conn.execute(
        "WITH s AS (SELECT DISTINCT as_of FROM marts.rfm WHERE as_of <= %(end)s ORDER BY as_of DESC LIMIT 2)"
        " SELECT (SELECT count(DISTINCT as_of) FROM marts.rfm WHERE as_of <= %(end)s),"
        " (SELECT count(*) FROM marts.rfm y JOIN marts.rfm x USING (customer_id)"
        "   WHERE y.as_of = (SELECT max(as_of) FROM s) AND x.as_of = (SELECT min(as_of) FROM s)"
        "   AND x.as_of < y.as_of AND x.segment <> y.segment)",
        {"end": last},
    ).fetchone()
    cohorts, followed = conn.execute(
        "SELECT count(DISTINCT cohort_month), coalesce(max(months_since), 0) FROM marts.cohorts"
        " WHERE cohort_month <= %s",
        (last,),
    ).fetchone()
    return [
        "",
        f"History: {snapshots} monthly RFM snapshots ({moved:,} customers changed segment between the last"
        f" two); {cohorts} monthly cohorts, followed up to {followed} months",
    ]


def _predictions(conn, ctx) -> list[str]:
    fit = conn.execute(
        "SELECT customers, repeat_buyers, fit_ok, problems FROM marts.customer_prediction_fits WHERE as_of = %s",
        (ctx.days[-1],),
    ).fetchone()
    if fit is None:
        return ["", "Predicted CLV: no fit (see the customer_predictions run)"]
    customers, repeat, ok, problems = fit
    lines = ["", f"Predicted CLV as of {ctx.last}: {customers:,} customers, {repeat:,} repeat buyers"]
    if not ok:
        lines.append(f"  poor fit, not used for segments: {problems}")
    for band, n, clv in conn.execute(
        "SELECT churn_risk, count(*), avg(predicted_clv_12m) FROM marts.customer_predictions WHERE as_of = %s"
        " GROUP BY 1 ORDER BY array_position(ARRAY['low', 'medium', 'high'], churn_risk)",
        (ctx.days[-1],),
    ):
        lines.append(f"  churn risk {band:<8}{n:>8,} customers, mean 12-month CLV ${clv or 0:,.2f}")
    return lines
