"""A day's segment snapshot at a million orders: the changes-only path beside computing every person.

    PYTHONPATH=. .venv/bin/python bench/segments.py --database NAME [--days 3] [--explain]

Runs on a database kept by ``bench/marts.py --database NAME`` (the marts built once). For each of
``--days`` new days (a copy of the last day's raw rows and a cancellation a week back, as in
bench/marts.py), the daily refresh of every table, then the new day's segments three ways, each
timed in SQL, the first two rolled back:
  every person   every person computed and written as one row per person and day (the storage
                 before migration 210, into a table of that shape with its key);
  day            every person computed, only the rows that moved written (what a day does after a
                 change of settings or prediction fit);
  changes        only the customers whose row can move computed and the moved rows written (a
                 normal day), committed.
The rows of ``changes`` are then checked against ``day``'s (the view, one row per person).
``--explain`` logs each statement's plan with its timing (auto_explain) to the server log.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.marts import add_day, kept_database  # noqa: E402
from bench.report import ratio  # noqa: E402
from marketing_pipeline.marts import coverage, sqlfiles  # noqa: E402
from marketing_pipeline.marts.assets import build_segments  # noqa: E402
from marketing_pipeline.marts.rebuild import ORDER  # noqa: E402
from marketing_pipeline.settings import marts as config  # noqa: E402
from marketing_pipeline.warehouse import connect, database_url, migrate  # noqa: E402

COLUMNS = (
    "as_of, customer_id, segment, is_new_subscriber, is_new_customer, is_repeat, is_vip, lifecycle,"
    " is_one_time_buyer, orders, revenue_365d, last_order_at, likely_to_churn, high_predicted_value"
)


class _Rollback(Exception):
    pass


def _timed(conn, fn) -> float:
    """Seconds fn(conn) takes inside a transaction that is then rolled back."""
    seconds = 0.0
    try:
        with conn.transaction():
            t = time.monotonic()
            fn(conn)
            seconds = time.monotonic() - t
            raise _Rollback
    except _Rollback:
        pass
    return seconds


def _every_person(conn, day) -> None:
    conn.execute(
        f"CREATE TEMP TABLE per_day ON COMMIT DROP AS SELECT {COLUMNS} FROM marts.customer_segments LIMIT 0"
    )  # noqa: S608
    conn.execute("ALTER TABLE per_day ADD PRIMARY KEY (as_of, customer_id)")
    conn.execute("DELETE FROM marts.customer_segment_state")  # every person computed
    sqlfiles.apply_settings(
        conn, {**config.gucs(), "first_day": day.isoformat(), "last_day": day.isoformat()}
    )
    sqlfiles.run(conn, "customer_segments")
    sqlfiles.run(conn, "customer_segments_predictions")
    conn.execute(f"INSERT INTO per_day SELECT {COLUMNS} FROM segment_rows")  # noqa: S608


def _day(conn, day) -> None:
    conn.execute("DELETE FROM marts.customer_segment_state")
    build_segments(conn, day, day)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database", required=True, help="a database kept by bench/marts.py --database NAME")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--explain", action="store_true", help="log plans and timings (auto_explain)")
    args = ap.parse_args()
    with kept_database(database_url(), args.database) as (url, created):
        if created:
            print(f"{args.database} is empty: run bench/marts.py --database {args.database} first")
            return 1
        migrate(url)
        with connect(url, autocommit=True) as conn:
            if args.explain:
                conn.execute("LOAD 'auto_explain'")
                for k, v in {
                    "auto_explain.log_min_duration": "20",
                    "auto_explain.log_analyze": "on",
                    "auto_explain.log_buffers": "on",
                    "auto_explain.log_nested_statements": "on",
                }.items():
                    conn.execute("SELECT set_config(%s, %s, false)", (k, v))
            last = conn.execute("SELECT max(partition_date) FROM raw.website_orders").fetchone()[0]
            written = conn.execute("SELECT max(as_of) FROM marts.customer_segment_days").fetchone()[0]
            if written != last:  # the latest day's segments first, for every person
                with conn.transaction():
                    conn.execute("DELETE FROM marts.customer_segment_state")
                    build_segments(conn, last, last)
            for _ in range(args.days):
                day = add_day(conn, last)
                t = time.monotonic()
                with conn.transaction():  # every table, as the daily refresh, without the segments
                    sqlfiles.apply_settings(conn, config.gucs())
                    coverage.refresh(conn, day - timedelta(days=729), day)
                    for name in ORDER:
                        sqlfiles.build(conn, name)
                tables = time.monotonic() - t
                every = _timed(conn, lambda c, d=day: _every_person(c, d))
                whole = _timed(conn, lambda c, d=day: _day(c, d))
                with conn.transaction():
                    t = time.monotonic()
                    build_segments(conn, day, day)
                    changes = time.monotonic() - t
                    mode = conn.execute("SELECT current_setting('marts.segments_mode')").fetchone()[0]
                    moved = conn.execute(
                        "SELECT count(*) FROM marts.customer_segment_spans WHERE valid_from = %s", (day,)
                    ).fetchone()[0]
                    candidates = conn.execute("SELECT count(*) FROM segment_candidates").fetchone()[0]
                people, spans = conn.execute(
                    "SELECT (SELECT count(*) FROM marts.customer_segments WHERE as_of = %s),"
                    " (SELECT count(*) FROM marts.customer_segment_spans)",
                    (day,),
                ).fetchone()
                # The same day computed for every person, every order read again: the same rows.
                differ = -1
                try:
                    with conn.transaction():
                        conn.execute(
                            f"CREATE TEMP TABLE kept ON COMMIT DROP AS SELECT {COLUMNS}"  # noqa: S608
                            " FROM marts.customer_segments WHERE as_of = %s",
                            (day,),
                        )
                        conn.execute("DELETE FROM marts.customer_segment_state")
                        build_segments(conn, day, day)  # the latest day again: every person, every order
                        differ = conn.execute(
                            f"SELECT (SELECT count(*) FROM (TABLE kept EXCEPT ALL SELECT {COLUMNS}"  # noqa: S608
                            " FROM marts.customer_segments WHERE as_of = %(d)s) a)"
                            f" + (SELECT count(*) FROM (SELECT {COLUMNS} FROM marts.customer_segments"  # noqa: S608
                            " WHERE as_of = %(d)s EXCEPT ALL TABLE kept) b)",
                            {"d": day},
                        ).fetchone()[0]
                        raise _Rollback  # the next day starts from what the changes path wrote
                except _Rollback:
                    pass
                print(
                    f"{day}: tables {tables:.2f}s; segments: every person {every:.2f}s, day {whole:.2f}s,"
                    f" changes {changes:.2f}s ({mode}: {candidates:,} customers computed, {moved:,} rows"
                    f" written of {people:,}; {spans:,} spans in all); {differ} rows differing from"
                    f" every person computed; load average {os.getloadavg()[0]:.1f}"
                )
                ratio(
                    "segments of a new day: changes vs every person",
                    f"{changes:.2f}s",
                    f"{every:.2f}s",
                    every / changes,
                    "day <= 2s",
                )
                last = day
    return 0


if __name__ == "__main__":
    sys.exit(main())
