"""When each asset runs, in one table.

Declarative conditions (evaluated by ``automation_sensor``) where they say the intent: today's
partition of the fast sources every ``INTRADAY_INTERVAL_MINUTES``; the marts rebuilt once per tick
after a source changed; Customer.io order events after the orders they send; the Klaviyo syncs each
morning. Closed days stay with the 00:15 lookback schedule (``daily_ingest_schedule``: a condition
cannot say "the last N days"), and segment snapshots with theirs. An asset run only by hand carries
the tag ``automation=manual``; ``marketing_pipeline_tests/test_automation.py`` fails on any other
asset that nothing runs.
"""

from __future__ import annotations

import warnings

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.automation import conditions
from marketing_pipeline.ingest import RAW_ASSETS
from marketing_pipeline.settings.vendors import VendorSettings, vendor_of

MANUAL_TAG = ("automation", "manual")
# Sources whose today changes by the hour; their closed days are final enough for the daily lookback.
INTRADAY = {
    "tiktok_shop_orders",
    "klaviyo_events",
    "klaviyo_orders",
    "klaviyo_order_lines",
    "customerio_deliveries",
}
# Unpartitioned assets refreshed on every intraday tick: SendGrid unsubscribes must reach the cart
# sender within the hour; the recovery report reads only ops tables.
EVERY_TICK = {"sendgrid_suppressions", "cart_recovery_daily"}
# Sends after what it sends has landed, for today and every day the lookback re-reads.
AFTER_PARENTS = {"customerio_order_events"}
ACTIVATION_CRON = "0 7 * * *"  # brand time, after the 00:15 lookback and the marts
ACTIVATION = {
    "klaviyo_profile_sync",
    "klaviyo_order_event_sync",
    "klaviyo_list_sync",
    "klaviyo_subscription_sync",
    "consent_sync",  # suppressions from every source pushed to every platform, before the lists
    "customerio_segment_sync",
}


def condition_for(spec: dg.AssetSpec, vendor: VendorSettings | None) -> dg.AutomationCondition | None:
    cfg = settings.load()
    name, tz = spec.key.to_user_string(), cfg.brand_timezone
    if name in INTRADAY or name in EVERY_TICK:
        cond = conditions.intraday(cfg.intraday_cron, tz)
    elif name in AFTER_PARENTS:
        cond = conditions.within_lookback(cfg.lookback_days)
    elif name in ACTIVATION:
        cond = dg.AutomationCondition.on_cron(ACTIVATION_CRON, tz)
    elif spec.tags.get("layer") == "marts" and spec.partitions_def is None:
        cond = conditions.rebuild_after_changes(cfg.intraday_cron, tz, RAW_ASSETS)
    else:
        return None
    if vendor is None:
        return cond
    # the vendor test last: it then sees only the partitions the timing let through
    return (cond & conditions.VendorConfigured(vendor)).with_label(
        f"{cond.get_label() or cond.name} while {vendor.name} is configured"
    )


def apply(defs: dg.Definitions) -> dg.Definitions:
    """The same definitions with each asset's condition and the sensor that evaluates them."""
    vendors = {
        key: vendor_of(a) for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition) for key in a.keys
    }
    sensor = dg.AutomationConditionSensorDefinition(
        "automation_sensor",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        use_user_code_server=True,  # VendorConfigured reads the code server's environment
        minimum_interval_seconds=60,
        description="Evaluates every asset's automation condition (intraday refresh, marts, syncs).",
    )
    with warnings.catch_warnings():  # map_asset_specs is marked preview; it is the documented way
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        mapped = defs.map_asset_specs(
            func=lambda s: s.replace_attributes(automation_condition=condition_for(s, vendors.get(s.key)))
        )
    return dg.Definitions.merge(mapped, dg.Definitions(sensors=[sensor]))
