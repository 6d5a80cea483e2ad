"""``make demo``: the whole pipeline against the sandbox, through Dagster, then a short summary.

Steps run in order; each part of the project adds its own module to ``STEPS`` with an optional
``run(ctx)`` (work done through Dagster) and ``summary(conn, ctx) -> list[str]`` (lines to print).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import dagster as dg

from marketing_pipeline import runtime, settings
from marketing_pipeline.pools import apply_pool_limits
from marketing_pipeline.warehouse import connect

STEPS = [
    "marketing_pipeline.sources.demo_ingest",
    "marketing_pipeline.sources.klaviyo.demo",
    "marketing_pipeline.sources.website.demo",
    "marketing_pipeline.sources.ga4.demo",
    "marketing_pipeline.sources.tiktok_content.demo",
    "marketing_pipeline.sources.customerio.demo",
    "marketing_pipeline.cart_recovery.demo",
    "marketing_pipeline.marts.demo",  # after every source, carts included, so the funnel is complete
    "marketing_pipeline.activation.klaviyo.demo",
]


@dataclass
class DemoContext:
    instance: dg.DagsterInstance
    days: list[date]
    runtime: runtime.Runtime
    extra: dict = field(default_factory=dict)

    @property
    def first(self) -> str:
        return self.days[0].isoformat()

    @property
    def last(self) -> str:
        return self.days[-1].isoformat()


def run(days: int = 14) -> int:
    started = time.monotonic()
    rt = runtime.start()
    print(
        f"warehouse ready; sandbox serving {', '.join(rt.sandbox_vendors) or 'nothing'}"
        + (f" on {rt.sandbox.url}" if rt.sandbox else "")
    )
    brand_today = datetime.now(settings.load().tz).date()
    window = [brand_today - timedelta(days=i) for i in range(days, 0, -1)]
    with dg.DagsterInstance.get() as instance:
        apply_pool_limits(instance)
        ctx = DemoContext(instance=instance, days=window, runtime=rt)
        modules = [importlib.import_module(m) for m in STEPS]
        timings = []
        for module in modules:
            if hasattr(module, "run"):
                step_started = time.monotonic()
                module.run(ctx)
                timings.append(
                    (module.__name__.removeprefix("marketing_pipeline."), time.monotonic() - step_started)
                )
        print()
        print(f"== marketing_pipeline demo: {ctx.first} .. {ctx.last} ==")
        with connect(rt.warehouse_url, autocommit=True) as conn:
            for module in modules:
                if hasattr(module, "summary"):
                    for line in module.summary(conn, ctx):
                        print(line)
    print()
    print("Step times: " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in timings))
    print(f"done in {time.monotonic() - started:.0f}s. Runs are in the Dagster UI: make ui")
    if rt.sandbox:
        rt.sandbox.stop()
    return 0
