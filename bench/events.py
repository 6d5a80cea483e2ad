"""Klaviyo events from the emulator into PostgreSQL for one very large day, against bare COPY of the same rows.

1. The emulator (sandbox, ``BENCH_KLAVIYO_SCALE``, default 14: a campaign day of about 500,000 events)
   runs in its own process, with Klaviyo's real rate limits, so this process measures only the loader.
2. load: ``load_events`` (HTTP pages of 200 -> pydantic -> rows -> COPY into raw.klaviyo_events,
   orders and lines), one transaction, as the ``klaviyo_events`` asset runs it. Peak memory: this
   process's max RSS (resource.getrusage) before and after, and tracemalloc's peak for the load.
3. bare COPY: the same rows exported to a file, then ``COPY .. FROM STDIN`` into an empty copy of
   raw.klaviyo_events: the floor.
Prints both rates and load/COPY. Server: ``MARKETING_DATABASE_URL`` or the embedded warehouse; a
scratch database is created and dropped.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marketing_pipeline.sandbox.credentials import KLAVIYO_API_KEY  # noqa: E402
from marketing_pipeline.sandbox.klaviyo.data import KlaviyoData  # noqa: E402
from marketing_pipeline.sandbox.world import World  # noqa: E402
from marketing_pipeline.sources.klaviyo.assets_events import load_events  # noqa: E402
from marketing_pipeline.sources.klaviyo.client import KlaviyoClient  # noqa: E402
from marketing_pipeline.warehouse import database_url, migrate  # noqa: E402

SCALE = float(os.environ.get("BENCH_KLAVIYO_SCALE", "14"))
MIN_EVENTS = 500_000
SERVER = """
import sys
from datetime import date
import uvicorn
from marketing_pipeline.sandbox.app import build
box = build(seed=7, scale=float(sys.argv[2]), today=date.fromisoformat(sys.argv[3]))
uvicorn.run(box.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_db(url: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def campaign_day(today: date) -> date:
    """The latest campaign send at least two days back (campaign days do not depend on scale)."""
    data = KlaviyoData(World(seed=7, scale=0.001, today=today))
    return max(
        c.send_time.date()
        for c in data.campaigns
        if c.status == "Sent" and c.send_time.date() <= today - timedelta(days=2)
    )


def main() -> int:
    today = datetime.now(UTC).date()
    day = campaign_day(today)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(SCALE), today.isoformat()],
        cwd=Path(__file__).resolve().parents[1],
    )
    base = database_url()
    scratch = f"mp_bench_klaviyo_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    url = with_db(base, scratch)
    try:
        migrate(url)
        deadline = time.monotonic() + 180
        while True:  # the emulator builds its brand first
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError as exc:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the sandbox did not start") from exc
                time.sleep(0.5)
        client = KlaviyoClient(f"http://127.0.0.1:{port}/klaviyo", KLAVIYO_API_KEY, timeout=120)
        rss_before = max_rss_mb()
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            counts = load_events(conn, client, [day], UTC, "bench")
        load_seconds = time.perf_counter() - started
        rss_after = max_rss_mb()
        events = counts["events"]
        with tempfile.TemporaryDirectory() as tmp, psycopg.connect(url) as conn:
            path = Path(tmp) / "events.copy"
            with path.open("wb") as f, conn.cursor().copy("COPY raw.klaviyo_events TO STDOUT") as out:
                for chunk in out:
                    f.write(chunk)
            conn.execute("CREATE TABLE raw.klaviyo_events_bare (LIKE raw.klaviyo_events INCLUDING ALL)")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor().copy("COPY raw.klaviyo_events_bare FROM STDIN") as cp, path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    cp.write(chunk)
            conn.commit()
            copy_seconds = time.perf_counter() - started
            size_mb = path.stat().st_size / 2**20
    finally:
        server.terminate()
        server.wait(timeout=30)
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    load_rate, copy_rate = events / load_seconds, events / copy_seconds
    print(
        f"day {day} at scale {SCALE}: {events:,} events ({counts['orders']:,} orders, {counts['lines']:,} lines), "
        f"{client.stats.pages:,} pages, {size_mb:,.0f} MB of rows"
    )
    print(f"load (emulator HTTP -> COPY): {load_seconds:8.1f} s {load_rate:10,.0f} events/s")
    print(f"bare COPY of the same rows:   {copy_seconds:8.1f} s {copy_rate:10,.0f} events/s")
    print(f"load / bare COPY: {load_rate / copy_rate:.3f}")
    print(
        f"memory (this process, resource.getrusage max RSS): {rss_before:,.0f} MB before the load, "
        f"{rss_after:,.0f} MB peak after it (+{rss_after - rss_before:,.0f} MB for {events:,} events)"
    )
    if events < MIN_EVENTS:
        print(f"WARNING: fewer than {MIN_EVENTS:,} events; raise BENCH_KLAVIYO_SCALE")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
