"""Demo step (after ingest): rebuild the core model and marts through Dagster, then print the
segments and the funnel of the demo window and where to open the dashboard."""

from marketing_pipeline.definitions import defs

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def run(ctx) -> None:
    refresh = defs.resolve_job_def("marts_refresh").execute_in_process(
        instance=ctx.instance, tags={"source": "demo"}, run_config=QUIET, raise_on_error=False
    )
    if not refresh.success:
        raise RuntimeError("marts_refresh failed; see the run in the Dagster UI")
    # CLV models as of the demo's last day; the window is short, so the holdout is one week
    config = {"ops": {"customer_predictions": {"config": {"as_of": ctx.last, "holdout_weeks": 1}}}}
    defs.resolve_job_def("customer_predictions_monthly").execute_in_process(
        instance=ctx.instance, tags={"source": "demo"}, run_config={**QUIET, **config}, raise_on_error=False
    )
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
    lines = ["", f"Customer segments as of {ctx.last}:"]
    for segment, count in conn.execute(
        "SELECT segment, count(*) FROM marts.customer_segments WHERE as_of = %s GROUP BY 1 ORDER BY 2 DESC",
        (ctx.days[-1],),
    ):
        lines.append(f"  {segment:<20}{count:>8,}")
    lines += _predictions(conn, ctx)
    lines += ["", f"Funnel {ctx.first} .. {ctx.last} (n/a: source not loaded for every day):"]
    for channel, stage, value, missing in conn.execute(
        "SELECT channel, stage, sum(value), count(*) FILTER (WHERE value IS NULL) FROM marts.funnel_daily"
        " WHERE day BETWEEN %s AND %s GROUP BY channel, stage_no, stage ORDER BY channel, stage_no",
        (ctx.days[0], ctx.days[-1]),
    ):
        shown = (
            "n/a" if value is None else f"{value:,}" + (f"  ({missing} day(s) missing)" if missing else "")
        )
        lines.append(f"  {channel:<9}{stage:<18}{shown:>12}")
    absent = [
        s for (s,) in conn.execute("SELECT source FROM marts.source_freshness WHERE source_absent ORDER BY 1")
    ]
    if absent:
        lines.append(f"  sources not connected: {', '.join(absent)}")
    lines += [
        "",
        "Dashboard: run `marketing-pipeline web` (or `make web`) and open http://127.0.0.1:8000/dashboard",
    ]
    return lines


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
