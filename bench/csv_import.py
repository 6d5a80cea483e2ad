"""Website order CSV import against bare COPY of the same file, on the same server, in one run.

Generates ``BENCH_CSV_ROWS`` order lines (default 1,000,000) in the import layout, then:
  1. bare COPY: ``COPY .. FROM STDIN (FORMAT csv, HEADER)`` of the file into a typed table
     with the CSV's columns (no checks, no keys: the floor);
  2. import: ``import_csv`` into the migrated (empty) tables: the file is clean, so the fast
     path (polars checks -> COPY of orders and lines, consent rows);
  3. re-import: the same file again, every order already stored;
  (1-3 alternate, best of ``BENCH_ROUNDS``) then
  4. the checked path alone on the same file (staging COPY -> checks and merge in SQL), once.
The tables carry the change log as in production (the import logs its days in marts.changed_days).
The first import of each round goes into empty tables: their keys are built once, afterwards.
Prints the rates and the ratios to bare COPY. Target: import and re-import >= 0.6 x bare COPY.
Server: ``BENCH_DATABASE_URL`` or ``MARKETING_TEST_DATABASE_URL`` or the warehouse; everything
runs in a scratch database (``bench.scratch``) created and dropped on that server.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import report  # noqa: E402
from bench.scratch import scratch_database, server_url  # noqa: E402
from marketing_pipeline.sandbox.world import World  # noqa: E402
from marketing_pipeline.sources.website import csv_direct  # noqa: E402
from marketing_pipeline.sources.website.csv_import import import_csv  # noqa: E402
from marketing_pipeline.sources.website.staging import FIELDS, LoadResult  # noqa: E402
from marketing_pipeline.warehouse import migrate  # noqa: E402

ROWS = int(os.environ.get("BENCH_CSV_ROWS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TARGET = 0.6

TYPED = (
    {"quantity": "integer", "created_at": "timestamptz"}
    | {
        c: "numeric"
        for c in ("unit_price", "line_discount", "subtotal", "discount", "shipping", "tax", "total")
    }
    | {"accepts_marketing": "boolean"}
)


def generate(path: Path, rows: int) -> int:
    """Order lines for ~rows/1.8 orders: real catalogue and customers, one to four lines each."""
    world = World(seed=11, scale=0.05)
    rng = random.Random(11)
    products, customers = world.products, world.customers
    start = datetime(2024, 1, 1, tzinfo=UTC)
    written = n = 0
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(FIELDS)
        while written < rows:
            n += 1
            created = (start + timedelta(seconds=n * 97)).isoformat()
            c = customers[rng.randrange(len(customers))]
            lines = [
                (products[rng.randrange(len(products))], rng.choice((1, 1, 1, 2)))
                for _ in range(min(rng.choice((1, 1, 2, 2, 3, 4)), rows - written))
            ]
            subtotal = sum((p.price * q for p, q in lines), Decimal(0))
            tax = (subtotal * Decimal("0.0825")).quantize(Decimal("0.01"))
            for p, q in lines:
                out.writerow(
                    (
                        f"B{n:09d}",
                        c.email,
                        created,
                        "USD",
                        p.sku_id,
                        p.product_id,
                        p.name,
                        p.variant,
                        q,
                        p.price,
                        "0.00",
                        p.image_url,
                        subtotal,
                        "0.00",
                        "5.95",
                        tax,
                        subtotal + tax + Decimal("5.95"),
                        "",
                        "google",
                        "cpc",
                        "evergreen",
                        "",
                        "",
                        "true" if c.accepts_marketing else "false",
                    )
                )
                written += 1
    return written


def bare_copy(conn: psycopg.Connection, path: Path) -> float:
    cols = ", ".join(f"{c} {TYPED.get(c, 'text')}" for c in FIELDS)
    conn.execute("DROP TABLE IF EXISTS bench_copy")
    conn.execute(f"CREATE TABLE bench_copy ({cols})")
    conn.execute("CHECKPOINT")  # each side starts from a clean slate: no dirty pages left behind
    started = time.perf_counter()
    with conn.transaction(), conn.cursor().copy("COPY bench_copy FROM STDIN (FORMAT csv, HEADER)") as copy:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
    return time.perf_counter() - started


def timed_import(conn: psycopg.Connection, path: Path, *, fresh: bool = True) -> tuple[float, LoadResult]:
    if fresh:
        conn.execute("TRUNCATE raw.website_orders, raw.website_order_lines, ops.consent")
    conn.execute("CHECKPOINT")
    started = time.perf_counter()
    result = import_csv(conn, path)
    return time.perf_counter() - started, result


def checked_only(*args, **kwargs):
    raise csv_direct.NotForFastPath("the benchmark measures the checked path")


def main() -> int:
    server = server_url()
    with scratch_database(server) as url:
        migrate(url)
        with tempfile.TemporaryDirectory(prefix="mp-bench-csv-") as tmp:
            path = Path(tmp) / "orders.csv"
            t0 = time.perf_counter()
            rows = generate(path, ROWS)
            print(
                f"generated {rows:,} order lines ({path.stat().st_size / 1e6:.0f} MB) "
                f"in {time.perf_counter() - t0:.1f}s; best of {ROUNDS} alternating rounds"
            )
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            copies, imports, agains = [], [], []
            with psycopg.connect(url, autocommit=True) as conn:
                for _ in range(ROUNDS):
                    copies.append(bare_copy(conn, path))
                    seconds, result = timed_import(conn, path)
                    assert result.lines == rows and result.checked_because is None, result
                    imports.append(seconds)
                    seconds, again = timed_import(conn, path, fresh=False)
                    assert again.orders == result.orders and again.checked_because is None, again
                    agains.append(seconds)
                rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
                csv_direct_import_file = csv_direct.import_file
                csv_direct.import_file = checked_only
                try:
                    checked_s, checked = timed_import(conn, path)
                finally:
                    csv_direct.import_file = csv_direct_import_file
                assert checked.lines == rows
    copy_s, import_s, again_s = min(copies), min(imports), min(agains)
    copy_rate, import_rate = rows / copy_s, rows / import_s
    print(f"bare COPY            {copy_s:7.2f}s  {copy_rate:>12,.0f} rows/s")
    print(f"import (fast path)   {import_s:7.2f}s  {import_rate:>12,.0f} rows/s  ({result.orders:,} orders)")
    print(f"  same file again    {again_s:7.2f}s  (every order stored)  {copy_s / again_s:.2f} x bare COPY")
    print(f"  checked path alone {checked_s:7.2f}s  {copy_s / checked_s:.2f} x bare COPY")
    print(f"  peak memory growth {rss_growth:7.0f} MB")
    print(
        "  every round (s): bare COPY "
        + " / ".join(f"{x:.2f}" for x in copies)
        + "; import "
        + " / ".join(f"{x:.2f}" for x in imports)
        + "; re-import "
        + " / ".join(f"{x:.2f}" for x in agains)
    )
    ratio = import_rate / copy_rate
    print(f"ratio import/COPY = {ratio:.2f} (target >= {TARGET})")
    report.ratio(
        "CSV import, new orders", f"{import_s:.2f}s", f"bare COPY {copy_s:.2f}s", ratio, f">= {TARGET}x"
    )
    report.ratio(
        "CSV re-import, stored orders",
        f"{again_s:.2f}s",
        f"bare COPY {copy_s:.2f}s",
        copy_s / again_s,
        f">= {TARGET}x",
    )
    return 0 if min(ratio, copy_s / again_s) >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
