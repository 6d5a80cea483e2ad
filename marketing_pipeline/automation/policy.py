"""When each asset runs, in one table.

Declarative conditions (evaluated by ``automation_sensor``) where they say the intent: today's
partition of the fast sources every ``INTRADAY_INTERVAL_MINUTES``; the marts rebuilt once per tick
after a source changed; Customer.io order events after the orders they send; the Klaviyo syncs each
morning. Closed days stay with the 00:15 lookback schedule (``daily_ingest_schedule``: a condition
cannot say "the last N days"), and segment snapshots with theirs. An asset run only by hand carries
the tag ``automation=manual``; ``marketing_pipeline_tests/test_automation.py`` fails on any other
asset that nothing runs.

Brand-partitioned assets are timed and gated per brand: the morning syncs at 07:00 on each brand's
clock, and only for the brands whose own account of the vendor is configured (``BrandsWhere``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.automation import conditions
from marketing_pipeline.brand_partitions import BRAND
from marketing_pipeline.ingest import RAW_ASSETS
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.settings.vendors import VENDORS, VendorSettings, vendor_of

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


class BrandsWhere(dg.AutomationCondition):
    """True for the candidate partitions whose brand passes ``test``, read when the sensor evaluates
    (like ``VendorConfigured``, per brand: a brand's own variables)."""

    def __init__(self, label: str, test: Callable[[Brand], bool]):
        self.label, self.test = label, test

    @property
    def description(self) -> str:
        return self.label

    @property
    def name(self) -> str:
        return f"brands_where({self.label})"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        candidates = context.candidate_subset
        passing = {b.id for b in brand_settings.load() if self.test(b)}
        keys = {k for k in candidates.expensively_compute_partition_keys() if _brand(k) in passing}
        return dg.AutomationResult(
            context=context, true_subset=candidates.compute_intersection_with_partition_keys(keys)
        )


def _brand(key: str) -> str:
    return str(key).partition("|")[0]


def brand_ids_of(partitions_def: dg.PartitionsDefinition | None) -> list[str] | None:
    """The brands of a brand (or brand × day) partitioned asset; None for any other asset."""
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        names = [d.name for d in partitions_def.partitions_defs]
        if BRAND in names:
            return list(partitions_def.get_partitions_def_for_dimension(BRAND).get_partition_keys())
        return None
    if isinstance(partitions_def, dg.StaticPartitionsDefinition):
        return list(partitions_def.get_partition_keys())
    return None


def _configured(keys: Sequence[str]) -> Callable[[Brand], bool]:
    return lambda b: any(k in b.vendors and b.vendor(k).configured() for k in keys)


def _on_brand_clocks(cron: str, ids: list[str]) -> dg.AutomationCondition:
    """``on_cron`` in each brand's zone: one branch per zone, each for that zone's brands."""
    brands = brand_settings.load()
    zones = sorted({brands.get(i).timezone for i in ids})
    if len(zones) == 1:
        return dg.AutomationCondition.on_cron(cron, zones[0])
    branches = [
        BrandsWhere(f"brands in {tz}", lambda b, tz=tz: b.timezone == tz)
        & dg.AutomationCondition.on_cron(cron, tz)
        for tz in zones
    ]
    either = branches[0]
    for branch in branches[1:]:
        either = either | branch
    return either.with_label(f"{cron} on each brand's clock")


def condition_for(
    spec: dg.AssetSpec, vendor: VendorSettings | None, vendor_keys: Sequence[str] = ()
) -> dg.AutomationCondition | None:
    cfg = settings.load()
    name, tz = spec.key.to_user_string(), cfg.brand_timezone
    brand_ids = brand_ids_of(spec.partitions_def)
    if name in INTRADAY or name in EVERY_TICK:
        cond = conditions.intraday(cfg.intraday_cron, tz)
    elif name in AFTER_PARENTS:
        cond = conditions.within_lookback(cfg.lookback_days)
    elif name in ACTIVATION:
        if brand_ids:
            cond = _on_brand_clocks(ACTIVATION_CRON, brand_ids)
        else:
            cond = dg.AutomationCondition.on_cron(ACTIVATION_CRON, tz)
    elif spec.tags.get("layer") == "marts" and (
        spec.partitions_def is None or isinstance(spec.partitions_def, dg.StaticPartitionsDefinition)
    ):
        # the core and marts (brand partitions): each brand's after that brand's sources changed
        cond = conditions.rebuild_after_changes(cfg.intraday_cron, tz, RAW_ASSETS)
    else:
        return None
    if vendor is None:
        return cond
    if brand_ids is not None:
        names = " or ".join(VENDORS[k].name for k in vendor_keys) or vendor.name
        gate = BrandsWhere(f"the brand's {names} configured", _configured(vendor_keys or [vendor.key]))
        return (cond & gate).with_label(
            f"{cond.get_label() or cond.name} while the brand's {names} is configured"
        )
    # the vendor test last: it then sees only the partitions the timing let through
    return (cond & conditions.VendorConfigured(vendor)).with_label(
        f"{cond.get_label() or cond.name} while {vendor.name} is configured"
    )


def apply(defs: dg.Definitions) -> dg.Definitions:
    """The same definitions with each asset's condition and the sensor that evaluates them."""
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    vendors = {key: vendor_of(a) for a in assets for key in a.keys}
    used = {
        key: [k for k in sorted(a.required_resource_keys) if k in VENDORS] for a in assets for key in a.keys
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
            func=lambda s: s.replace_attributes(
                automation_condition=condition_for(s, vendors.get(s.key), used.get(s.key, ()))
            )
        )
    return dg.Definitions.merge(mapped, dg.Definitions(sensors=[sensor]))
