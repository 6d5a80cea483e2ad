"""``make demo``: the whole pipeline against the sandbox, through Dagster, then a short summary.

The demo loads about six months of order history (TikTok Shop orders in one multi-day Dagster run,
website orders as one CSV through the bulk COPY path), so RFM movement and cohorts have months to
show; every other source is read for the window only: the dashboard's default range (its last
``dashboard_data.DEFAULT_RANGE_DAYS`` days), which is also the range the summary prints.

Steps run in order; each part of the project adds its own module to ``STEPS`` with an optional
``run(ctx)`` (work done through Dagster) and ``summary(conn, ctx) -> list[str]`` (lines to print).
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import dagster as dg

from marketing_pipeline import runtime, settings
from marketing_pipeline.pools import apply_pool_limits
from marketing_pipeline.sandbox import credentials, launch
from marketing_pipeline.sandbox.discount_codes import seed_into
from marketing_pipeline.warehouse import connect
from marketing_pipeline.web.dashboard_data import DEFAULT_RANGE_DAYS

STEPS = [
    "marketing_pipeline.sandbox.demo.ingest",
    "marketing_pipeline.sandbox.demo.klaviyo",
    "marketing_pipeline.sandbox.demo.website",
    "marketing_pipeline.sandbox.demo.ga4",
    "marketing_pipeline.sandbox.demo.tiktok_content",
    "marketing_pipeline.sandbox.demo.customerio",
    "marketing_pipeline.sandbox.demo.cart_recovery",
    "marketing_pipeline.sandbox.demo.marts",  # after every source, carts included, so the funnel is complete
    "marketing_pipeline.sandbox.demo.klaviyo_activation",
    "marketing_pipeline.sandbox.demo.freshness",  # a late change caught, an alert arriving
    "marketing_pipeline.sandbox.demo.brands",  # the sandbox's other brands, and every brand side by side
]


HISTORY_DAYS = 183  # about six months of orders: month ends for RFM movement, months for cohorts


@dataclass
class DemoContext:
    instance: dg.DagsterInstance
    days: list[date]  # the window: every source, the summary, the dashboard's default range
    runtime: runtime.Runtime
    sandbox_url: str
    history: list[date] = field(default_factory=list)  # order history: ends with the window
    extra: dict = field(default_factory=dict)

    @property
    def history_first(self) -> str:
        return (self.history or self.days)[0].isoformat()

    @property
    def first(self) -> str:
        return self.days[0].isoformat()

    @property
    def last(self) -> str:
        return self.days[-1].isoformat()


def _quiet_logs(path) -> None:
    """Dagster's and the libraries' log lines go to a file; the terminal shows the summary."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in ("dagster", "alembic"):
        logging.getLogger(name).handlers = [handler]
        logging.getLogger(name).propagate = False


def run(days: int = HISTORY_DAYS, port: int = credentials.DEFAULT_PORT) -> int:
    started = time.monotonic()
    cfg = settings.load()
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    log_path = cfg.state_dir / "demo.log"
    _quiet_logs(log_path)
    window_days = min(days, DEFAULT_RANGE_DAYS)
    print(
        f"marketing_pipeline demo: {days} days of a generated brand's orders, every source for the last"
        f" {window_days}; each step's time is printed at the end"
    )
    print(f"(details in {log_path})")
    os.environ["MARKETING_SANDBOX"] = "1"
    # its own emulators (another process's carry their state), on another port when ``port`` is taken
    sandbox_url = launch.start(port=port, reuse=False)
    rt = runtime.start()
    for url in rt.brand_urls.values():
        seed_into(url)  # each store's discount codes for the offer step
    print(f"sandbox warehouse ready; vendor emulators on {sandbox_url}")
    brand_today = datetime.now(settings.load().tz).date()
    history = [brand_today - timedelta(days=i) for i in range(days, 0, -1)]
    with dg.DagsterInstance.get() as instance:
        # Keep one connection per storage open, as Dagster's webserver does: the demo executes about
        # a hundred runs in this process, and otherwise every event written opens a new connection.
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=10)
        apply_pool_limits(instance)
        ctx = DemoContext(
            instance=instance,
            days=history[-window_days:],
            runtime=rt,
            sandbox_url=sandbox_url,
            history=history,
        )
        modules = [importlib.import_module(m) for m in STEPS]
        timings = []
        for module in modules:
            if hasattr(module, "run"):
                step_started = time.monotonic()
                print(f"  {module.__name__.rsplit('.', 1)[-1]} ...", flush=True)
                module.run(ctx)
                timings.append((module.__name__.rsplit(".", 1)[-1], time.monotonic() - step_started))
        print()
        print(f"== marketing_pipeline demo: {ctx.first} .. {ctx.last} (orders since {ctx.history_first}) ==")
        with connect(rt.warehouse_url, autocommit=True) as conn:
            for module in modules:
                if hasattr(module, "summary"):
                    for line in module.summary(conn, ctx):
                        print(line)
    print()
    print("Step times: " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in timings))
    print(f"done in {time.monotonic() - started:.0f}s. Runs are in the Dagster UI: make ui (sandbox mode)")
    print(f"Dagster's own log lines: {log_path}")
    return 0
