"""The ``customer_predictions`` asset, its fit check, and the monthly job that runs it.

One snapshot per month end: the models describe slowly moving population rates, a run at 200,000
customers costs about 18 CPU seconds (bench/predictions.py), and month-end snapshots make a clean
series to check each month's predictions against what followed. Daily segments read the latest
good snapshot at or before their day and ignore what a customer did after it (an order since
the snapshot means the customer is not churning).

Each brand has its own snapshot (a brand partition), fitted on its own warehouse as of the end of
the month on its own calendar; the schedule starts each brand's run at 04:00 on the 1st of its clock.
"""

from datetime import date, datetime, timedelta, tzinfo
from functools import cache

import dagster as dg

from marketing_pipeline import clock, settings
from marketing_pipeline.brand_partitions import build_brand_partitions
from marketing_pipeline.marts import assets, predictions
from marketing_pipeline.marts.schedules import brand_local_schedule
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.warehouse import WarehouseResource

K = dg.AssetKey("customer_predictions")


class PredictionsConfig(dg.Config):
    as_of: str = ""  # YYYY-MM-DD; empty: the last day of the previous brand-local month
    holdout_weeks: int = predictions.Options.holdout_weeks
    annual_discount_rate: float = predictions.Options.annual_discount_rate
    min_repeat_buyers: int = predictions.Options.min_repeat_buyers
    churn_high: float = predictions.Options.churn_high
    churn_medium: float = predictions.Options.churn_medium


def last_month_end(today: date) -> date:
    return today.replace(day=1) - timedelta(days=1)


def _as_of(config: PredictionsConfig, tz: tzinfo | None = None) -> date:
    """The configured day, else the last day of the previous month on the brand's calendar."""
    if config.as_of:
        return date.fromisoformat(config.as_of)
    return last_month_end(clock.today(tz or settings.load().tz))


def customer_predictions_body(
    context: dg.AssetExecutionContext, config: PredictionsConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    opts = predictions.Options(
        **{k: getattr(config, k) for k in predictions.Options.__dataclass_fields__}  # noqa: B009
    )
    brand, warehouse = assets.brand_warehouse(context, warehouse)
    as_of = _as_of(config, brand.tz)
    with warehouse.transaction() as conn:
        out, scored = predictions.run(conn, as_of, opts)
        rows = predictions.write(conn, out, scored, opts)
    if out.problems:
        context.log.warning(f"customer_predictions {brand.id} {as_of}: " + "; ".join(out.problems))
    return dg.MaterializeResult(
        metadata={"brand": dg.MetadataValue.text(brand.id), **_metadata(out, rows, opts)}
    )


@cache
def _built(brand_ids: tuple[str, ...]) -> dg.AssetsDefinition:
    @dg.asset(
        **assets.COMMON,
        deps=[dg.AssetKey("core_orders")],
        partitions_def=build_brand_partitions(),
        description="BG/NBD + Gamma-Gamma on core.orders as of a month end: per customer P(alive), "
        "expected purchases in 30/90/365 days, expected order value, 12-month CLV, next order date, churn "
        "risk; the fit and its holdout validation in marts.customer_prediction_fits / _holdout.",
    )
    def customer_predictions(
        context: dg.AssetExecutionContext, config: PredictionsConfig, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        return customer_predictions_body(context, config, warehouse)

    return customer_predictions


def build() -> dg.AssetsDefinition:
    """``customer_predictions`` with the brands of the file as it is now."""
    return _built(brand_settings.load().ids)


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
    asset=K,
    blocking=True,
    description="The latest fit had enough repeat buyers and converged; otherwise segments ignore it.",
)
def customer_predictions_fit_ok(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    _, warehouse = assets.brand_warehouse(context, warehouse)
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
    selection=dg.AssetSelection.assets(K),
    description="Refit the CLV models and score one brand's customers as of the last month end.",
)


def _monthly(brand: Brand, local: datetime) -> dg.RunRequest | None:
    if local.day != 1:
        return None
    return dg.RunRequest(partition_key=brand.id, run_key=f"{brand.id}:{local.date().isoformat()}")


def build_predictions_schedule() -> dg.ScheduleDefinition:
    return brand_local_schedule(
        "customer_predictions_monthly_schedule",
        predictions_job,
        hour=4,
        request=_monthly,
        description="On the 1st at 04:00 on each brand's clock, after the nightly marts refresh: "
        "predictions as of the month just ended.",
    )
