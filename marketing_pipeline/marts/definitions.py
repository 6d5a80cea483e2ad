"""Dagster definitions of the core model and marts: assets, checks, jobs and their schedules.

The unpartitioned core and marts rebuild on their automation condition (``automation/policy.py``:
once per intraday tick after a source changed); ``marts_refresh`` runs the same by hand.
``customer_segments_daily`` writes yesterday's segment snapshot at 03:00.

Both jobs run in process: their steps are SQL statements that PostgreSQL executes one after another
(each step depends on the previous ones), so a process per step would only add start-up time.
"""

import dagster as dg

from marketing_pipeline.marts import assets, checks

marts_refresh = dg.define_asset_job(
    "marts_refresh",
    selection=dg.AssetSelection.assets(*assets.UNPARTITIONED),
    executor_def=dg.in_process_executor,
    description="Rebuild core.* and marts.* (except the daily segment snapshots) with their checks.",
)

segments_job = dg.define_asset_job(
    "customer_segments_daily",
    selection=dg.AssetSelection.assets(assets.customer_segments),
    executor_def=dg.in_process_executor,
    description="Segment snapshot as of the partition's day.",
)

segments_schedule = dg.build_schedule_from_partitioned_job(
    segments_job,
    hour_of_day=3,
    name="customer_segments_daily_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(
    assets=[*assets.UNPARTITIONED, assets.customer_segments],
    asset_checks=checks.CHECKS,
    jobs=[marts_refresh, segments_job],
    schedules=[segments_schedule],
)
