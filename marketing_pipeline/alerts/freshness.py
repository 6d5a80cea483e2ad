"""Stale sources: a freshness check per intraday source, run by Dagster's freshness sensor.

A source is stale when its last load is older than three intraday intervals (at least three
hours). A failing check is posted by ``alert_on_failed_checks``.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from marketing_pipeline import settings

SOURCES = ["tiktok_shop_orders", "klaviyo_events", "customerio_deliveries"]


def freshness_checks() -> list[dg.AssetChecksDefinition]:
    cfg = settings.load()
    bound = max(timedelta(hours=3), timedelta(minutes=3 * cfg.intraday_interval_minutes))
    return list(
        dg.build_last_update_freshness_checks(
            assets=[dg.AssetKey(k) for k in SOURCES], lower_bound_delta=bound, timezone=cfg.brand_timezone
        )
    )
