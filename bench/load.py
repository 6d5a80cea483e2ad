"""Loader vs bare COPY: 1,000,000 generated TikTok Shop order lines, same rows, same run.

    .venv/bin/python bench/load.py [--rows N]

"bare COPY" streams the rows into an empty plain table with the real table's columns and primary
key, with psycopg's COPY and nothing else. "loader" is the project's path into a table built as
the real one is (partitioned by day with a default partition, migration 240), with its change-log
triggers (the loader logs the days it changes in marts.changed_days itself and the statement
triggers stand aside, migration 220): one transaction that locks the days and empties their
partitions (the first load creates them, a re-run TRUNCATEs them), then COPYs the rows (first
load, and a re-run that replaces the same days), then the same two loads into a copy without the
triggers. Prints rates, ratios, the days logged and what the change log costs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import ratio  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from marketing_pipeline.sources.tiktok_shop.assets import LINE_COLUMNS, LINES_TABLE  # noqa: E402
from marketing_pipeline.warehouse import connect, copy_rows, database_url, migrate, replace_partitions  # noqa: E402

SCHEMA = "bench_load"
DAYS = 30


def rows(n: int) -> list[tuple]:
    start = date(2026, 1, 1)
    out = []
    for i in range(n):
        order = f"57{i // 2:014d}"
        price = Decimal(1000 + i % 5000) / 100
        raw = {
            "id": f"{order}{i % 2}",
            "sku_id": f"1729{i % 40:08d}",
            "sale_price": str(price),
            "original_price": str(price),
            "currency": "USD",
            "display_status": "COMPLETED",
        }
        out.append(
            (
                order,
                f"{order}{i % 2}",
                raw["sku_id"],
                f"1729{i % 12:05d}",
                "Glow Serum",
                "30 ml",
                f"LL-{i % 40:06d}",
                "https://shop.example/i.jpg",
                price,
                price,
                Decimal("0.00"),
                Decimal("0.00"),
                "USD",
                "COMPLETED",
                json.dumps(raw),
                start + timedelta(days=i % DAYS),
                "bench",
            )
        )
    return out


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    data = rows(args.rows)
    with scratch_database(database_url()) as url:
        migrate(url)
        run(url, data, args.rows)


def run(url: str, data: list[tuple], n_rows: int) -> None:
    days = sorted({r[-2] for r in data})
    with connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        key, partitioning = conn.execute(
            "SELECT pg_get_constraintdef(k.oid), pg_get_partkeydef(k.conrelid) FROM pg_constraint k"
            " WHERE k.conrelid = %s::regclass AND k.contype = 'p'",
            (LINES_TABLE,),
        ).fetchone()
        like = f"LIKE {LINES_TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION"
        conn.execute(f"CREATE TABLE {SCHEMA}.bare ({like}, {key})")
        for name in ("loader", "untriggered"):
            conn.execute(f"CREATE TABLE {SCHEMA}.{name} ({like}, {key}) PARTITION BY {partitioning}")
            conn.execute(f"CREATE TABLE {SCHEMA}.{name}_default PARTITION OF {SCHEMA}.{name} DEFAULT")
            conn.execute(f"CREATE INDEX ON {SCHEMA}.{name}_default (partition_date)")
        # The loader's table logs its changed days as the real one does (LIKE copies no triggers).
        for (definition,) in conn.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            (LINES_TABLE,),
        ).fetchall():
            conn.execute(definition.replace(f" ON {LINES_TABLE} ", f" ON {SCHEMA}.loader "))

    def bare():
        with connect(url) as conn:
            copy_rows(conn, f"{SCHEMA}.bare", LINE_COLUMNS, data)

    def loader(table: str = "loader"):
        with connect(url) as conn:
            replace_partitions(conn, f"{SCHEMA}.{table}", LINE_COLUMNS, iter(data), days)

    t_bare = timed(bare)
    t_first = timed(loader)
    t_rerun = timed(loader)
    # The same two loads without the change-log triggers: what the triggers cost.
    t_plain_first = timed(lambda: loader("untriggered"))
    t_plain_rerun = timed(lambda: loader("untriggered"))
    with connect(url, autocommit=True) as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM {SCHEMA}.{t}").fetchone()[0] for t in ("bare", "loader")
        ]
        logged = {
            day
            for (day,) in conn.execute(
                "SELECT DISTINCT day FROM marts.changed_days WHERE tbl = %s", (f"{SCHEMA}.loader",)
            )
        }
    assert counts == [n_rows, n_rows], counts
    assert logged == set(days), sorted(logged ^ set(days))
    n = n_rows
    print(
        f"rows: {n:,} over {len(days)} daily partitions ({len(logged)} logged as changed); server: {'MARKETING_DATABASE_URL' if os.environ.get('MARKETING_DATABASE_URL') else 'embedded'}"
    )
    print(f"bare COPY                 {t_bare:7.2f}s  {n / t_bare:>10,.0f} rows/s")
    print(
        f"loader, first load        {t_first:7.2f}s  {n / t_first:>10,.0f} rows/s  ratio {t_bare / t_first:.2f}"
    )
    print(
        f"loader, partition replace {t_rerun:7.2f}s  {n / t_rerun:>10,.0f} rows/s  ratio {t_bare / t_rerun:.2f}"
    )
    print(
        f"without the change log: first load {t_plain_first:.2f}s, partition replace {t_plain_rerun:.2f}s"
        f" (change log: {t_first - t_plain_first:+.2f}s / {t_rerun - t_plain_rerun:+.2f}s)"
    )
    ratio(
        "TikTok lines first load", f"{t_first:.2f}s", f"bare COPY {t_bare:.2f}s", t_bare / t_first, ">= 0.6x"
    )
    ratio(
        "TikTok lines partition replace",
        f"{t_rerun:.2f}s",
        f"bare COPY {t_bare:.2f}s",
        t_bare / t_rerun,
        ">= 0.6x",
    )


if __name__ == "__main__":
    main()
