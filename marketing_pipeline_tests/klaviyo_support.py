"""Shared helpers for the Klaviyo tests: a small sandbox brand served over loopback, and its expectations."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from marketing_pipeline.sandbox.app import Sandbox, build
from marketing_pipeline.sandbox.credentials import KLAVIYO_API_KEY
from marketing_pipeline.sandbox.klaviyo.emulator import KlaviyoEmulator
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.sources.klaviyo.client import KlaviyoClient
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.sources.klaviyo.streams import METRICS
from marketing_pipeline.warehouse import WarehouseResource

API_KEY = KLAVIYO_API_KEY
SCALE = 0.02
FAST = 1000.0  # tests pace 1000x faster than a real account; the emulator's limits are raised to match
RELAXED = {
    tier: ((10_000, 1), (100_000, 60), (1_000_000, 86_400)) for tier in ("XS", "S", "M", "L", "XL", "REPORTS")
}


def small_sandbox(
    today: date, faults: str | None = None, relaxed: bool = True, scale: float = SCALE
) -> Sandbox:
    box = build(world=World(seed=7, scale=scale, today=today), faults=faults)
    if relaxed:
        emulator(box).limits = dict(RELAXED)
    return box


def emulator(box: Sandbox) -> KlaviyoEmulator:
    return box.emulators["klaviyo"]


def client(url: str, **kwargs) -> KlaviyoClient:
    from marketing_pipeline.sources.klaviyo.client import scaled_tiers

    kwargs.setdefault("tiers", scaled_tiers(FAST))
    return KlaviyoClient(url + "/klaviyo", API_KEY, **kwargs)


def resources(url: str, **overrides) -> dict:
    return {
        "klaviyo": KlaviyoResource(
            base_url=url + "/klaviyo", api_key=API_KEY, rate_limit_scale=FAST, **overrides
        ),
        "warehouse": WarehouseResource(),
    }


def expected_events(box: Sandbox, first: date, last: date) -> Counter:
    """(day, metric) -> events the emulator holds for brand-local (UTC) days ``first..last``."""
    data = emulator(box).data
    out: Counter = Counter()
    day = first
    while day <= last:
        for hour in range(24):
            for ev in data.hour_events(
                datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)
            ):
                if ev.metric in METRICS:
                    out[(day, ev.metric)] += 1
        day += timedelta(days=1)
    return out
