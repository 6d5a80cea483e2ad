"""Shopper-event forwarding settings, read when asked for."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings.recovery import parse_duration

DESTINATIONS = ("klaviyo", "customerio")


@dataclass(frozen=True)
class ShopperEventSettings:
    destinations: tuple[str, ...] = DESTINATIONS  # of these, the configured vendors get events
    lookback: timedelta = timedelta(days=7)  # cart events older than this are never forwarded

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ShopperEventSettings:
        env = os.environ if environ is None else environ
        raw = env.get("SHOPPER_EVENTS_DESTINATIONS", "").strip()
        destinations = DESTINATIONS
        if raw:
            destinations = tuple(d.strip().lower() for d in raw.split(",") if d.strip())
            unknown = sorted(set(destinations) - set(DESTINATIONS) - {"none"})
            if unknown:
                raise SettingsError(
                    f"SHOPPER_EVENTS_DESTINATIONS: unknown {unknown}; use klaviyo, customerio or none"
                )
            destinations = tuple(d for d in destinations if d != "none")
        lookback = env.get("SHOPPER_EVENTS_LOOKBACK", "").strip()
        return cls(
            destinations, parse_duration("SHOPPER_EVENTS_LOOKBACK", lookback) if lookback else cls.lookback
        )
