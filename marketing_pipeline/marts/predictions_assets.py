"""The ``customer_predictions`` asset, its fit check, and the monthly job that runs it.

One snapshot per month end: the models describe slowly moving population rates, a run at 200,000
customers costs about 18 CPU seconds (bench/predictions.py), and month-end snapshots make a clean
series to check each month's predictions against what followed. Daily segments read the latest
good snapshot at or before their day and ignore what a customer did after it (an order since
the snapshot means the customer is not churning).
"""

from datetime import date, timedelta

import dagster as dg

from marketing_pipeline import clock, settings
from marketing_pipeline.marts import assets, predictions
from marketing_pipeline.partitions import daily_partitions
from marketing_pipeline.warehouse import WarehouseResource


class PredictionsConfig(dg.Config):
    as_of: str = ""  # YYYY-MM-DD; empty: the last day of the previous brand-local month
    holdout_weeks: int = predictions.Options.holdout_weeks
    annual_discount_rate: float = predictions.Options.annual_discount_rate
    min_repeat_buyers: int = predictions.Options.min_repeat_buyers
    churn_high: float = predictions.Options.churn_high
    churn_medium: float = predictions.Options.churn_medium


def last_month_end(today: date) -> date:
    return today.replace(day=1) - timedelta(days=1)


def _as_of(config: PredictionsConfig) -> date:
    if config.as_of:
        return date.fromisoformat(config.as_of)
    return last_month_end(clock.today(settings.load().tz))


@dg.asset(
    **assets.COMMON,
    deps=[assets.core_orders],
    description="BG/NBD + Gamma-Gamma on core.orders as of a month end: per customer P(alive), expected "
    "purchases in 30/90/365 days, expected order value, 12-month CLV, next order date, churn risk; the fit "
    "and its holdout validation in marts.customer_prediction_fits / _holdout.",
)
def customer_predictions(
    context: dg.AssetExecutionContext, config: PredictionsConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    opts = predictions.Options(
        **{k: getattr(config, k) for k in predictions.Options.__dataclass_fields__}  # noqa: B009
    )
    as_of = _as_of(config)
    with warehouse.transaction() as conn:
        out, scored = predictions.run(conn, as_of, opts)
        rows = predictions.write(conn, out, scored, opts)
    if out.problems:
        context.log.warning(f"customer_predictions {as_of}: " + "; ".join(out.problems))
    return dg.MaterializeResult(metadata=_metadata(out, rows, opts))


def _metadata(out: predictions.Outcome, rows: int, opts: predictions.Options) -> dict:
    fmt = {k: round(v, 4) for k, v in out.params.items()}
    meta = {
        "as_of": dg.MetadataValue.text(out.as_of.isoformat()),
        "rows": dg.MetadataValue.int(rows),
        "customers": dg.MetadataValue.int(out.customers),
        "repeat_buyers": dg.MetadataValue.int(out.repeat_buyers),
        "fit_ok": dg.MetadataValue.bool(out.fit_ok),
        "problems": dg.MetadataValue.text("; ".join(out.problems) or "-"),
        "parameters": dg.MetadataValue.json(fmt),
        "annual_discount_rate": dg.MetadataValue.float(opts.annual_discount_rate),
        "seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in out.seconds.items()}),
    }
    if out.holdout is not None:
        cal = {k: (round(v, 4) if isinstance(v, float) else str(v)) for k, v in out.calibration.items()}
        meta["calibration_fit"] = dg.MetadataValue.json(cal)
        meta["holdout_mae"] = dg.MetadataValue.float(round(out.holdout_mae, 4))
        meta["holdout_by_repeat_purchases"] = dg.MetadataValue.json(
            out.holdout.round(3).to_dict(orient="records")
        )
    return meta


@dg.asset_check(
    asset=customer_predictions,
    blocking=True,
    description="The latest fit had enough repeat buyers and converged; otherwise segments ignore it.",
)
def customer_predictions_fit_ok(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connection() as conn:
        row = conn.execute(
            "SELECT as_of, fit_ok, problems, repeat_buyers, holdout_mae FROM marts.customer_prediction_fits"
            " ORDER BY fitted_at DESC LIMIT 1"
        ).fetchone()
    if row is None:
        return dg.AssetCheckResult(passed=False, metadata={"problems": "no fit recorded"})
    as_of, ok, problems, repeat, mae = row
    return dg.AssetCheckResult(
        passed=bool(ok),
        metadata={
            "as_of": str(as_of),
            "repeat_buyers": repeat,
            "holdout_mae": float(mae) if mae is not None else -1.0,
            "problems": problems or "-",
        },
    )


predictions_job = dg.define_asset_job(
    "customer_predictions_monthly",
    selection=dg.AssetSelection.assets(customer_predictions),
    description="Refit the CLV models and score every customer as of the last month end.",
)

predictions_schedule = dg.ScheduleDefinition(
    name="customer_predictions_monthly_schedule",
    job=predictions_job,
    cron_schedule="0 4 1 * *",
    execution_timezone=daily_partitions.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="On the 1st, after the nightly marts refresh: predictions as of the month just ended.",
)
