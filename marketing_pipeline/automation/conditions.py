"""Automation conditions this project composes from Dagster's own.

``VendorConfigured`` is the one custom condition: it reads the vendor's key variables when the
automation sensor evaluates (never at import), so an asset of a vendor without credentials is
skipped and the UI's evaluation tree names the variables it is waiting for.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

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


def intraday(cron: str, timezone: str) -> AC:
    """Today's partition (the latest) on every intraday tick; closed days are left to the daily lookback."""
    return AC.on_cron(cron, timezone)


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
