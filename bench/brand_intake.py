"""What finding the brand costs the cart intake: the write-key lookup alone, and single-event posts
per brand over loopback HTTP (one in-process server, one client, sequential: latency, not load).

    MARKETING_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/brand_intake.py

A scratch database (and its brands' databases beside it) is created and dropped. ``BENCH_POSTS``
posts per brand (default 300).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from marketing_pipeline.sandbox import brands as sandbox_brands  # noqa: E402
from marketing_pipeline.sandbox.server import BackgroundServer  # noqa: E402
from marketing_pipeline.settings import web as web_settings  # noqa: E402
from marketing_pipeline.warehouse import WarehouseResource, migrate  # noqa: E402
from marketing_pipeline.web.app import create_app  # noqa: E402

POSTS = int(os.environ.get("BENCH_POSTS", "300"))


def lookup_us(n: int = 20_000) -> float:
    key = web_settings.website_write_key()
    started = time.perf_counter()
    for _ in range(n):
        web_settings.brand_for_write_key(key)
    return (time.perf_counter() - started) / n * 1e6


def main() -> int:
    server = os.environ.get("MARKETING_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"bench_brands_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        os.environ.update({"MARKETING_DATABASE_URL": url, "WEBSITE_WRITE_KEY": "wk_single"})
        migrate(url)
        one = lookup_us()
        os.environ.update(sandbox_brands.environ())
        os.environ["MARKETING_DATABASE_URL"] = url
        os.environ["MARKETING_BRANDS_FILE"] = str(sandbox_brands.BRANDS_FILE)
        brands = sandbox_brands.load()
        for b in brands:
            WarehouseResource().for_brand(b)
        three = lookup_us()
        print(f"write-key lookup: {one:.1f} µs with one brand (no file), {three:.1f} µs with three brands")
        at = datetime.now(UTC) - timedelta(hours=1)
        with BackgroundServer(create_app(dashboard=False)) as web, httpx.Client(timeout=30) as http:
            for b in brands:
                key = {"Authorization": f"Bearer {sandbox_brands.website_write_key(b)}"}
                times = []
                for i in range(POSTS):
                    event = {
                        "event_id": f"bench-{b.id}-{i:06d}",
                        "type": "cart_created",
                        "cart_id": f"bench-{b.id}-{i % 50}",
                        "occurred_at": (at + timedelta(seconds=i)).isoformat(),
                    }
                    started = time.perf_counter()
                    r = http.post(f"{web.url}/intake/cart-events", json=event, headers=key)
                    times.append(time.perf_counter() - started)
                    assert r.status_code == 202, r.text
                times.sort()
                print(
                    f"{b.id:<10} {POSTS} single-event posts: median {statistics.median(times) * 1e3:.2f} ms,"
                    f" p95 {times[int(len(times) * 0.95)] * 1e3:.2f} ms"
                )
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            for (db,) in conn.execute(
                "SELECT datname FROM pg_database WHERE datname = %s OR starts_with(datname, %s)",
                (name, name + "_"),
            ).fetchall():
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
