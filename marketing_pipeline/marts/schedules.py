"""Schedules that run each brand at an hour of its own clock.

A schedule has one time zone and brands live in several, so these tick every hour in UTC and ask,
brand by brand, whether it is that hour on the brand's clock (an hour every zone passes exactly
once a day, half-hour zones included). Each request carries a run key of the brand and its local
date, so a tick evaluated twice starts nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import dagster as dg

from marketing_pipeline import clock
from marketing_pipeline.brand_partitions import brand_ids
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand

HOURLY = "0 * * * *"


def brand_local_schedule(
    name: str,
    job: dg.UnresolvedAssetJobDefinition,
    hour: int,
    request: Callable[[Brand, datetime], dg.RunRequest | None],
    description: str,
    vendor: str | None = None,
) -> dg.ScheduleDefinition:
    """Calls ``request(brand, local time)`` for each brand (using ``vendor``) when its clock shows
    ``hour``; the brands are those of the partitions built with the definitions."""
    ids = brand_ids(vendor)

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=HOURLY,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        now = context.scheduled_execution_time or clock.now()
        brands = brand_settings.load()
        requests = []
        for brand_id in ids:
            brand = brands.get(brand_id)
            local = now.astimezone(brand.tz)
            if local.hour == hour and (req := request(brand, local)) is not None:
                requests.append(req)
        return requests or dg.SkipReason(f"no brand's clock shows {hour:02d}:00")

    return _schedule
