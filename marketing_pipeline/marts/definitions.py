"""Dagster definitions of the core model and marts: assets, checks, jobs and their schedules.

Every asset is partitioned by brand (``customer_segments`` by brand × day): a run builds one
brand's warehouse. The core and marts rebuild on their automation condition (``automation/policy.py``:
once per intraday tick after a source of that brand changed); ``marts_refresh`` runs the same by
hand for one brand (its partition). ``customer_segments_daily`` writes each brand's segment snapshot
of yesterday at 03:00 on the brand's clock.

Both jobs run in process. The core tables and marts are one step (``core_and_marts``) that runs its
SQL builders side by side on ``MARTS_LANES`` connections, each as soon as what it reads has
committed: a process per builder would only add start-up time, and one backend after another would
leave the server's other cores idle.

``defs`` is built when asked for (the partitions come from the brands file as it is then).
"""

from datetime import datetime, timedelta

import dagster as dg

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.marts import assets, checks, predictions_assets
from marketing_pipeline.marts.schedules import brand_local_schedule
from marketing_pipeline.settings.brands import Brand

marts_refresh = dg.define_asset_job(
    "marts_refresh",
    selection=dg.AssetSelection.assets(*(dg.AssetKey(n) for n in assets.UNPARTITIONED_NAMES)),
    executor_def=dg.in_process_executor,
    description="Rebuild one brand's core.* and marts.* (except the daily segment snapshots) with their "
    "checks.",
)

segments_job = dg.define_asset_job(
    "customer_segments_daily",
    selection=dg.AssetSelection.assets(dg.AssetKey("customer_segments")),
    executor_def=dg.in_process_executor,
    description="One brand's segment snapshot as of the partition's day.",
)


def _yesterday(brand: Brand, local: datetime) -> dg.RunRequest:
    day = local.date() - timedelta(days=1)
    return dg.RunRequest(partition_key=brand_day_key(brand.id, day), run_key=f"{brand.id}:{day.isoformat()}")


def build_defs() -> dg.Definitions:
    built = assets.build()
    segments_schedule = brand_local_schedule(
        "customer_segments_daily_schedule",
        segments_job,
        hour=3,
        request=_yesterday,
        description="At 03:00 on each brand's clock: the brand's segment snapshot as of yesterday.",
    )
    return dg.Definitions(
        assets=[*built.values(), predictions_assets.build()],
        asset_checks=[*checks.CHECKS, predictions_assets.customer_predictions_fit_ok],
        jobs=[marts_refresh, segments_job, predictions_assets.predictions_job],
        schedules=[segments_schedule, predictions_assets.build_predictions_schedule()],
    )


def __getattr__(name: str):
    if name == "defs":
        return build_defs()
    raise AttributeError(name)
