"""Automation conditions this project composes from Dagster's own.

``VendorConfigured`` is the one custom condition: it reads the vendor's key variables when the
automation sensor evaluates (never at import), so an asset of a vendor without credentials is
skipped and the UI's evaluation tree names the variables it is waiting for.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from marketing_pipeline.brand_partitions import BRAND, brand_day_key
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.vendors import VendorSettings

AC = dg.AutomationCondition


class VendorConfigured(AC):
    """True for every candidate while the vendor's required variables are set."""

    def __init__(self, vendor: VendorSettings):
        self.vendor = vendor

    @property
    def description(self) -> str:
        needs = [*self.vendor.required, *(" or ".join("+".join(g) for g in self.vendor.alternatives),)]
        return f"{self.vendor.name} configured ({', '.join(n for n in needs if n)} set)"

    @property
    def name(self) -> str:
        return f"vendor_configured({self.vendor.name})"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        subset = context.candidate_subset if self.vendor.configured() else context.get_empty_subset()
        return dg.AutomationResult(context=context, true_subset=subset)


class BrandToday(AC):
    """Of a brand × day asset, each brand's today on its own calendar (the day dimension is labelled
    in UTC, so Dagster's latest time window would be a day no brand has reached); other assets:
    every candidate (unpartitioned or by brand only) or the latest time window's key."""

    @property
    def description(self) -> str:
        return "each brand's today, in its own time zone"

    @property
    def name(self) -> str:
        return "brand_today"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        pdef, now = context.partitions_def, context.evaluation_time
        if pdef is None or not isinstance(
            pdef, dg.MultiPartitionsDefinition | dg.TimeWindowPartitionsDefinition
        ):
            # unpartitioned, or by brand only (cart_recovery_daily): every brand, every tick
            return dg.AutomationResult(context=context, true_subset=context.candidate_subset)
        if isinstance(pdef, dg.MultiPartitionsDefinition) and BRAND in {d.name for d in pdef.partitions_defs}:
            brands = brand_settings.load()
            ids = pdef.get_partitions_def_for_dimension(BRAND).get_partition_keys()
            keys = {brand_day_key(b, now.astimezone(brands.get(b).tz).date()) for b in ids}
        else:
            last = pdef.get_last_partition_key(current_time=now)
            keys = {last} if last else set()
        subset = context.candidate_subset.compute_intersection_with_partition_keys(keys)
        return dg.AutomationResult(context=context, true_subset=subset)


def intraday(cron: str, timezone: str) -> AC:
    """Each brand's today on every intraday tick (``on_cron`` with ``BrandToday`` for its latest
    time window); closed days are left to the daily lookback."""
    return (
        BrandToday()
        & AC.cron_tick_passed(cron, timezone).since_last_handled()
        & AC.all_deps_updated_since_cron(cron, timezone)
    ).with_label(f"on_cron({cron}, {timezone}) for each brand's today")


def within_lookback(lookback_days: int) -> AC:
    """Like ``eager`` but over the lookback window: a re-read day of the parent re-runs that day here."""
    return AC.eager().replace(
        AC.in_latest_time_window(), AC.in_latest_time_window(timedelta(days=lookback_days))
    )


def rebuild_after_changes(cron: str, timezone: str, sources: dg.AssetSelection) -> AC:
    """A full-rebuild asset: at most once per tick, once a parent changed since its last run.

    Parents rebuilt in the same tick join the same run (``will_be_requested``); a source partition
    requested or running blocks it until that data has landed.
    """
    tick = AC.cron_tick_passed(cron, timezone).since(AC.newly_requested() | AC.newly_updated())
    changed = AC.any_deps_match(AC.newly_updated()).since(AC.newly_requested() | AC.newly_updated())
    chained = AC.any_deps_match(AC.will_be_requested()).ignore(sources)
    waiting = AC.any_deps_match(AC.will_be_requested() | AC.in_progress()).allow(sources)
    return (
        tick & (changed.with_label("a parent changed since the last rebuild") | chained) & ~waiting
    ).with_label(f"rebuild on {cron} after its sources changed")
