"""Stale sources: a freshness check per intraday source, run by Dagster's freshness sensor.

A source is stale when its last load is older than three intraday intervals (at least three
hours). A failing check is posted by ``alert_on_failed_checks``.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import dagster as dg

from marketing_pipeline import settings

SOURCES = ["tiktok_shop_orders", "klaviyo_events", "customerio_deliveries"]


def freshness_checks() -> list[dg.AssetChecksDefinition]:
    cfg = settings.load()
    bound = max(timedelta(hours=3), timedelta(minutes=3 * cfg.intraday_interval_minutes))
    # Superseded by FreshnessPolicy in 1.13, but a policy yields no check evaluation for
    # alert_on_failed_checks to post; checks keep one alert path for stale sources and failed checks.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.SupersessionWarning)
        return list(
            dg.build_last_update_freshness_checks(
                assets=[dg.AssetKey(k) for k in SOURCES], lower_bound_delta=bound, timezone=cfg.brand_timezone
            )
        )


def freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, default_status=dg.DefaultSensorStatus.RUNNING
        )
