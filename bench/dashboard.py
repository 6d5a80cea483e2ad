"""Dashboard first visit in a running headless Chromium, over two years of generated data.

A first visit is a fresh browser context (empty HTTP cache, as a marketer who has never opened
the page); a warm visit the same page again. Both are read in the page: ``performance.now()`` when
dashboard.js has drawn every panel (``window.dashboardRendered``), i.e. from navigation start.
Prints the data endpoint's time, first visits (median of ``BENCH_ROUNDS``, default 5) and the warm
visit, and first visit / warm as the ratio. Server: ``BENCH_DATABASE_URL`` or
``MARKETING_TEST_DATABASE_URL`` or the warehouse; a scratch database is created and dropped.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.marts import generate  # noqa: E402
from bench.scratch import scratch_database, server_url  # noqa: E402
from marketing_pipeline.sandbox.server import BackgroundServer  # noqa: E402
from marketing_pipeline.warehouse import migrate  # noqa: E402
from marketing_pipeline.web.app import create_app  # noqa: E402
from marketing_pipeline_tests.marts_fixtures import build  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def _rendered_seconds(page, url: str) -> float:
    page.goto(url)
    page.wait_for_function("window.dashboardRendered", timeout=30_000)
    return page.evaluate("window.dashboardRendered") / 1000


def main() -> int:
    from playwright.sync_api import sync_playwright

    server = server_url()
    with scratch_database(server) as url:
        migrate(url)
        os.environ["MARKETING_DATABASE_URL"] = url
        with psycopg.connect(url, autocommit=True) as conn:
            generate(conn, orders=12_000, customers=3_000, days=730)
            first, last = conn.execute(
                "SELECT min(partition_date), max(partition_date) FROM raw.website_orders"
            ).fetchone()
            build(conn, first, last, segments_from=last - timedelta(days=30))
        with BackgroundServer(create_app()) as web, sync_playwright() as p:
            t = time.perf_counter()
            httpx.get(f"{web.url}/dashboard/api/data").raise_for_status()
            api = time.perf_counter() - t
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            firsts = []
            for _ in range(ROUNDS):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(f"{web.url}/healthz")  # a running browser: time the page, not the tab
                firsts.append(_rendered_seconds(page, f"{web.url}/dashboard"))
            warm = _rendered_seconds(page, f"{web.url}/dashboard")
            browser.close()
    cold = statistics.median(firsts)
    print(f"data endpoint {api * 1000:.0f} ms")
    print(f"first visit median {cold * 1000:.0f} ms of {[round(s * 1000) for s in firsts]}")
    print(f"warm visit {warm * 1000:.0f} ms; first/warm {cold / warm:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
