"""Klaviyo events from saved API pages into PostgreSQL, against dlt's merge and bare COPY.

    .venv/bin/python bench/events.py        (dlt baseline: pip install -e '.[bench]')

1. Pages: one campaign day of the sandbox (``BENCH_KLAVIYO_SCALE``, default 5.5: about 215,000
   events) fetched once from the emulator as the bytes it sent and saved under the state directory
   (reused by later runs). Nothing below talks to the emulator.
2. project: ``load_events`` fed the saved pages (validate from bytes, rows, COPY into
   raw.klaviyo_events, orders and lines), one transaction, as the ``klaviyo_events`` asset runs it.
3. bare COPY: the rows the project wrote, exported to files, then ``COPY .. FROM STDIN`` into empty
   copies of the three tables (indexes included): the floor for the same rows.
4. dlt (when installed): a resource yielding the same events (parsed from the same pages) with
   ``primary_key="id"``, ``write_disposition="merge"``, into a dataset of the same database.
Prints the times and the ratios; memory is this process's max RSS before and after the project load.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import ratio  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from marketing_pipeline import settings  # noqa: E402
from marketing_pipeline.http import CallStats  # noqa: E402
from marketing_pipeline.partitions import day_bounds  # noqa: E402
from marketing_pipeline.sandbox.credentials import KLAVIYO_API_KEY  # noqa: E402
from marketing_pipeline.sandbox.klaviyo.data import KlaviyoData  # noqa: E402
from marketing_pipeline.sandbox.world import World  # noqa: E402
from marketing_pipeline.sources.klaviyo import streams  # noqa: E402
from marketing_pipeline.sources.klaviyo.assets_events import load_events  # noqa: E402
from marketing_pipeline.sources.klaviyo.client import KlaviyoClient  # noqa: E402
from marketing_pipeline.warehouse import database_url, migrate  # noqa: E402

SCALE = float(os.environ.get("BENCH_KLAVIYO_SCALE", "5.5"))
SERVER = """
import sys
from datetime import date
import uvicorn
from marketing_pipeline.sandbox.app import build
box = build(seed=7, scale=float(sys.argv[2]), today=date.fromisoformat(sys.argv[3]))
uvicorn.run(box.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""
TABLES = ("raw.klaviyo_events", "raw.klaviyo_orders", "raw.klaviyo_order_lines")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def save_pages(folder: Path, today: date, day: date) -> None:
    """Fetch the day's event pages (and the metrics) from the emulator, once, as sent."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(SCALE), today.isoformat()],
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        deadline = time.monotonic() + 300
        while True:  # the emulator builds its brand first
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError as exc:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the sandbox did not start") from exc
                time.sleep(0.5)
        client = KlaviyoClient(f"http://127.0.0.1:{port}/klaviyo", KLAVIYO_API_KEY, timeout=120)
        tmp = folder.parent / f"{folder.name}.partial"
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "metrics.json").write_text(json.dumps(list(streams.metrics(client))))
        start, end = day_bounds(day, UTC)
        params = {
            "filter": streams.and_(
                streams.greater_or_equal("datetime", start), streams.less_than("datetime", end)
            ),
            "page[size]": streams.PAGE_SIZES["events"],
            "sort": "datetime",
        }
        for n, body in enumerate(client.raw_pages("/api/events", params)):
            (tmp / f"page_{n:06d}.json").write_bytes(body)
        tmp.rename(folder)
    finally:
        server.terminate()
        server.wait(timeout=30)


class SavedPages:
    """Stands in for KlaviyoClient where ``load_events`` reads: the metrics and the event pages."""

    vendor = "Klaviyo"

    def __init__(self, folder: Path):
        self.folder = folder
        self.stats = CallStats()

    def pages(self, path: str, params: dict | None = None):
        assert path == "/api/metrics"
        yield {"data": json.loads((self.folder / "metrics.json").read_text())}

    def raw_pages(self, path: str, params: dict | None = None):
        for page in sorted(self.folder.glob("page_*.json")):
            self.stats.pages += 1
            yield page.read_bytes()


def bare_copy(url: str) -> tuple[float, float]:
    """(seconds, MB): the rows the project wrote, COPYed into empty copies of the three tables."""
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(url) as conn:
        size = 0
        for table in TABLES:
            path = Path(tmp) / table
            with path.open("wb") as f, conn.cursor().copy(f"COPY {table} TO STDOUT") as out:
                for chunk in out:
                    f.write(chunk)
            size += path.stat().st_size
            conn.execute(f"CREATE TABLE {table}_bare (LIKE {table} INCLUDING ALL)")
        conn.commit()
        started = time.perf_counter()
        for table in TABLES:
            with (
                conn.cursor().copy(f"COPY {table}_bare FROM STDIN") as cp,
                (Path(tmp) / table).open("rb") as f,
            ):
                while chunk := f.read(1 << 20):
                    cp.write(chunk)
        conn.commit()
        return time.perf_counter() - started, size / 2**20


def _url_form(conninfo: str) -> str:
    """dlt wants ``postgresql://user:password@host:port/db``; the scratch database is a libpq string."""
    from urllib.parse import quote

    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    auth = f"{quote(info.get('user', 'postgres'))}:{quote(info.get('password') or 'unused')}"  # dlt insists on one
    return f"postgresql://{auth}@{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}/{info['dbname']}"


def dlt_merge(url: str, folder: Path) -> float | None:
    """Seconds for dlt's merge of the same events (parsed from the same pages), or None without dlt."""
    try:
        import dlt
    except ImportError:
        return None

    @dlt.resource(name="klaviyo_events", primary_key="id", write_disposition="merge")
    def events():
        for page in sorted(folder.glob("page_*.json")):
            yield json.loads(page.read_bytes())["data"]

    with tempfile.TemporaryDirectory() as tmp:
        pipeline = dlt.pipeline(
            pipeline_name="bench_klaviyo",
            pipelines_dir=tmp,
            destination=dlt.destinations.postgres(credentials=_url_form(url)),
            dataset_name="dlt_bench",
        )
        started = time.perf_counter()
        pipeline.run(events())
        return time.perf_counter() - started


def main() -> int:
    today = datetime.now(UTC).date()
    day = campaign_day(today)
    folder = settings.load().state_dir / "bench" / f"klaviyo_pages_{SCALE:g}_{day}_{today}"
    if not folder.exists():
        t = time.monotonic()
        save_pages(folder, today, day)
        print(f"saved the emulator's pages in {time.monotonic() - t:.0f}s (not part of any timing): {folder}")
    with scratch_database(database_url()) as url:
        migrate(url)
        source = SavedPages(folder)
        rss_before = max_rss_mb()
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            counts = load_events(conn, source, [day], UTC, "bench")
        project = time.perf_counter() - started
        rss_after = max_rss_mb()
        copy_seconds, size_mb = bare_copy(url)
        events = counts["events"]
        print(
            f"day {day} at scale {SCALE:g}: {events:,} events ({counts['orders']:,} orders,"
            f" {counts['lines']:,} lines, {counts['skipped_metrics']:,} of other metrics) in"
            f" {source.stats.pages:,} saved pages, {size_mb:,.0f} MB of rows"
        )
        print(f"project (saved pages -> COPY): {project:8.1f} s {events / project:10,.0f} events/s")
        print(
            f"bare COPY of the same rows:     {copy_seconds:8.1f} s   project / bare COPY"
            f" {copy_seconds / project:.2f}x",
            flush=True,
        )
        dlt_seconds = dlt_merge(url, folder)
    if dlt_seconds is None:
        print("dlt merge: not installed (pip install -e '.[bench]')")
    else:
        print(
            f"dlt merge of the same events:   {dlt_seconds:8.1f} s   project vs dlt {dlt_seconds / project:.2f}x faster"
        )
    ratio(
        "Klaviyo events vs bare COPY",
        f"{project:.1f}s",
        f"bare COPY {copy_seconds:.1f}s",
        copy_seconds / project,
        ">= 0.6x",
    )
    if dlt_seconds is not None:
        ratio(
            "Klaviyo events vs dlt merge",
            f"{project:.1f}s",
            f"dlt merge {dlt_seconds:.1f}s",
            dlt_seconds / project,
            ">= 4x",
        )
    print(
        f"memory (this process, max RSS): {rss_before:,.0f} MB before the project load,"
        f" {rss_after:,.0f} MB after it (+{rss_after - rss_before:,.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
