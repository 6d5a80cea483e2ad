"""Dashboard first visit in a running headless Chromium, over two years of generated data.

A first visit is a fresh browser context (empty HTTP cache, as a marketer who has never opened
the page); a warm visit the same page again. Both are read in the page: ``performance.now()`` when
dashboard.js has drawn every panel (``window.dashboardRendered``), i.e. from navigation start.
Prints the data endpoint's time, first visits (median of ``BENCH_ROUNDS``, default 5) and the warm
visit, and first visit / warm as the ratio. Then three brands (the scratch database and two copies
of it, each a brand's warehouse): the data endpoint for the default brand (pooled connection) and
for another brand (a connection per request), and the overview of all brands (``/dashboard/api/brands``),
medians of ``BENCH_REQUESTS`` (default 20) requests each (``BENCH_BRANDS=0`` leaves this part out). Server: ``BENCH_DATABASE_URL`` or
``MARKETING_TEST_DATABASE_URL`` or the warehouse; the scratch databases are created and dropped.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

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
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20"))
WITH_BRANDS = os.environ.get("BENCH_BRANDS", "1") != "0"  # 0: the single-brand part only
PASSWORD = "bench-dashboard-password"
BRANDS_FILE = """
brands:
  - {id: main, name: Main, timezone: UTC, currency: USD}
  - {id: north, name: North, timezone: Europe/Berlin, currency: EUR, vendors: []}
  - {id: south, name: South, timezone: Australia/Sydney, currency: AUD, vendors: []}
"""


def _median_ms(client: httpx.Client, path: str, params: dict | None = None) -> float:
    times = []
    for _ in range(REQUESTS):
        t = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    assert client.post("/login", data={"password": PASSWORD}).status_code == 303
    return client


def _copies(url: str) -> dict[str, str]:
    """Two copies of the scratch database, the warehouses of brands north and south (made while no
    connection is open to it)."""
    info = conninfo_to_dict(url)
    copies = {b: make_conninfo(**{**info, "dbname": f"{info['dbname']}_{b}"}) for b in ("north", "south")}
    with psycopg.connect(make_conninfo(**{**info, "dbname": "postgres"}), autocommit=True) as conn:
        for b in copies:
            conn.execute(f'CREATE DATABASE "{info["dbname"]}_{b}" TEMPLATE "{info["dbname"]}"')
    return copies


def _drop(copies: dict[str, str]) -> None:
    for copy in copies.values():
        info = conninfo_to_dict(copy)
        with psycopg.connect(make_conninfo(**{**info, "dbname": "postgres"}), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{info["dbname"]}" WITH (FORCE)')


def _brands(copies: dict[str, str]) -> dict[str, float]:
    """The three brands' endpoints timed: the default brand's, another brand's and the overview."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = Path(tmp) / "brands.yaml"
            path.write_text(BRANDS_FILE)
            os.environ["MARKETING_BRANDS_FILE"] = str(path)
            for b, copy in copies.items():
                os.environ[f"{b.upper()}_MARKETING_DATABASE_URL"] = copy
            # failed partitions: "not reachable", no Dagster in the timing
            os.environ.pop("DAGSTER_HOME", None)
            with BackgroundServer(create_app()) as web:
                client = _signed_in(web.url)
                try:
                    return {
                        "default brand data": _median_ms(client, "/dashboard/api/data"),
                        "other brand data": _median_ms(client, "/dashboard/api/data", {"brand": "north"}),
                        "overview of 3 brands": _median_ms(client, "/dashboard/api/brands"),
                    }
                finally:
                    client.close()
        finally:
            os.environ.pop("MARKETING_BRANDS_FILE", None)


def _rendered_seconds(page, url: str) -> float:
    page.goto(url)
    page.wait_for_function("window.dashboardRendered", timeout=30_000)
    return page.evaluate("window.dashboardRendered") / 1000


def main() -> int:
    from playwright.sync_api import sync_playwright

    server = server_url()
    os.environ["DASHBOARD_PASSWORD"] = PASSWORD
    with scratch_database(server) as url:
        migrate(url)
        os.environ["MARKETING_DATABASE_URL"] = url
        with psycopg.connect(url, autocommit=True) as conn:
            generate(conn, orders=12_000, customers=3_000, days=730)
            first, last = conn.execute(
                "SELECT min(partition_date), max(partition_date) FROM raw.website_orders"
            ).fetchone()
            build(conn, first, last, segments_from=last - timedelta(days=30))
        copies = _copies(url) if WITH_BRANDS else {}
        with BackgroundServer(create_app()) as web, sync_playwright() as p:
            client = _signed_in(web.url)
            t = time.perf_counter()
            client.get("/dashboard/api/data").raise_for_status()
            api = time.perf_counter() - t
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            firsts = []
            for _ in range(ROUNDS):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.add_cookies(
                    [{"name": c.name, "value": c.value, "url": web.url} for c in client.cookies.jar]
                )
                page = context.new_page()
                page.goto(f"{web.url}/healthz")  # a running browser: time the page, not the tab
                firsts.append(_rendered_seconds(page, f"{web.url}/dashboard"))
            warm = _rendered_seconds(page, f"{web.url}/dashboard")
            browser.close()
            client.close()
        try:
            brands = _brands(copies) if WITH_BRANDS else {}
        finally:
            _drop(copies)
    cold = statistics.median(firsts)
    print(f"data endpoint {api * 1000:.0f} ms")
    print(f"first visit median {cold * 1000:.0f} ms of {[round(s * 1000) for s in firsts]}")
    print(f"warm visit {warm * 1000:.0f} ms; first/warm {cold / warm:.2f}x")
    for name, ms in brands.items():
        print(f"three brands: {name} median {ms:.0f} ms ({REQUESTS} requests)")
    if brands:
        ratio = brands["overview of 3 brands"] / brands["default brand data"]
        print(f"three brands: overview / one brand's data {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
