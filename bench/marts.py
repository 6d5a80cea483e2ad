"""Every core table and mart rebuilt for a large sandbox, the daily refresh, and RFM beside pandas.

    .venv/bin/python bench/marts.py [--orders 1000000] [--customers 200000] [--no-job]
        [--database NAME [--full-only]]

``--database NAME`` keeps the generated database under that name (created and generated the first
time, reused as it is after), so iterations skip generation (the data ends the day before yesterday
and each full run adds the days up to the first of the next month: once they are past today, the
job's source coverage, which stops at today, and the funnel differ from the one-transaction
rebuild's, which covers the new days; compare on fresh data); ``--full-only`` then stops after the
full rebuild (nothing else changes the raw rows, so the next run starts from the same data).

Raw rows (TikTok Shop and website orders with lines, Customer.io deliveries) are generated with
generate_series inside PostgreSQL in a scratch database. Then, each timed:
1. the whole model rebuilt from scratch in one transaction, one builder after another on one
   backend (SQL time per step; the PostgreSQL backend's peak memory read from /proc);
2. the ``marts_refresh`` Dagster job, full, on the same data (in process, its builders side by
   side in MARTS_LANES lanes): its wall time beside the SQL time each asset reports;
3. one new day of raw rows (a copy of the last day's) and a cancellation a week back, then the daily
   refresh through the same job (``--no-job``: in one transaction), then the segment snapshot of the
   new day (timed apart; after the job's full rebuild the last day's snapshot is written again
   first, untimed, as the daily segments job would, so the new day's is the usual one: of the
   customers that changed); then the next day the same way, as in a month's first days, with an
   order of the month before's last day cancelled late too (RFM redoes that month's snapshot); then
   the first day of the next month in one transaction (the days before it added and refreshed
   untimed), where RFM writes the new month whole; every core and mart table is then compared with a
   full rebuild of the same data, row by row;
4. the latest RFM snapshot alone in SQL, beside the same scores computed in pandas from the orders
   read into a child process (time including the read, and that process's peak memory), compared
   row by row.
The machine's load average is printed beside the figures (other work on it slows them)."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import ratio  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from marketing_pipeline.marts import scope, sqlfiles  # noqa: E402
from marketing_pipeline.marts.assets import build_segments  # noqa: E402
from marketing_pipeline.marts.rebuild import rebuild  # noqa: E402
from marketing_pipeline.settings import marts as config  # noqa: E402
from marketing_pipeline.warehouse import (  # noqa: E402
    ChangeLog,
    connect,
    database_url,
    delete_partitions,
    migrate,
)

DATA_SQL = Path(__file__).with_name("marts_data.sql")


def generate(conn, orders: int, customers: int, days: int = 730, payload_items: int = 0) -> None:
    """Raw rows for ``orders`` orders of ``customers`` customers over ``days`` days (one transaction),
    each order's payload with ``payload_items`` line items."""
    settings = {"orders": orders, "customers": customers, "days": days, "payload_items": payload_items}
    with conn.transaction():
        for key, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, true)", (f"bench.{key}", str(value)))
        conn.execute(DATA_SQL.read_text())
    conn.execute("ANALYZE")


@contextmanager
def kept_database(server: str, name: str) -> Iterator[tuple[str, bool]]:
    """(url, True if it had to be created) for a database kept between runs."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from marketing_pipeline.warehouse.engine import libpq_url

    info = conninfo_to_dict(libpq_url(server))
    with connect(make_conninfo(**{**info, "dbname": "postgres"}), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    yield make_conninfo(**{**info, "dbname": name}), not exists


@contextmanager
def _fresh(server: str) -> Iterator[tuple[str, bool]]:
    with scratch_database(server) as url:
        yield url, True


def add_day(conn, last: date) -> date:
    """Copy the last day's raw rows to the next day (new ids, every date and time one day later), and
    cancel one order of the week before."""
    tables = {
        "raw.website_orders": "order_id",
        "raw.website_order_lines": "order_id",
        "raw.tiktok_shop_orders": "order_id",
        "raw.tiktok_shop_order_lines": "order_id",
        "raw.customerio_deliveries": "delivery_id",
    }
    with conn.transaction():
        # The TikTok Shop tables get the day's partition from their loader (migration 240).
        for table in ("raw.tiktok_shop_orders", "raw.tiktok_shop_order_lines"):
            delete_partitions(conn, table, [last + timedelta(days=1)])
        # The order tables' loaders log the days they write (migration 220): so do these copies.
        log = ChangeLog(conn, *tables)
        for table, key in tables.items():
            schema, name = table.split(".")
            shifted = [
                c
                for (c,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
                    " AND table_name = %s AND data_type IN ('date', 'timestamp with time zone')",
                    (schema, name),
                )
            ]
            conn.execute(
                f"CREATE TEMP TABLE next_day ON COMMIT DROP AS SELECT * FROM {table} WHERE partition_date = %s",
                (last,),
            )
            sets = ", ".join([f"{key} = 'N' || {key}"] + [f"{c} = {c} + interval '1 day'" for c in shifted])
            conn.execute(f"UPDATE next_day SET {sets}")
            conn.execute(f"INSERT INTO {table} SELECT * FROM next_day")
            conn.execute("DROP TABLE next_day")
            log.add(table, [last + timedelta(days=1)])
        # A late change too: one website order of a week before cancelled.
        _cancel_website_order(conn, log, last - timedelta(days=7), "min")
        log.close()
    conn.execute("ANALYZE")
    return last + timedelta(days=1)


def late_change(conn, day: date) -> date:
    """A late change in the closed month before ``day``'s, as in a month's first days: one website
    order of that month's last day cancelled (its day logged, as the loader does). Returns that day."""
    month_end = day.replace(day=1) - timedelta(days=1)
    with conn.transaction():
        log = ChangeLog(conn, "raw.website_orders")
        _cancel_website_order(conn, log, month_end, "max")  # not the one add_day may cancel that day
        log.close()
    return month_end


def _cancel_website_order(conn, log: ChangeLog, day: date, pick: str) -> None:
    """The ``pick`` (min or max) website order id of ``day`` cancelled, its day logged."""
    conn.execute(
        'UPDATE raw.website_orders SET payload = payload || \'{"status": "cancelled"}\''  # noqa: S608
        f" WHERE order_id = (SELECT {pick}(order_id) FROM raw.website_orders WHERE partition_date = %s)",
        (day,),
    )
    log.add("raw.website_orders", [day])


def run_job(url: str) -> tuple[float, dict[str, tuple[float, str]]]:
    """The marts_refresh job in process: wall seconds, and each asset's SQL seconds and refresh mode."""
    import dagster as dg

    from marketing_pipeline.marts.definitions import defs as marts_defs
    from marketing_pipeline.settings import brands as brand_settings
    from marketing_pipeline.warehouse import WarehouseResource

    os.environ["MARKETING_DATABASE_URL"] = url
    defs = dg.Definitions.merge(marts_defs, dg.Definitions(resources={"warehouse": WarehouseResource()}))
    with dg.instance_for_test() as instance:
        t = time.monotonic()
        result = defs.resolve_job_def("marts_refresh").execute_in_process(
            instance=instance,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            partition_key=brand_settings.load().default.id,  # the one brand's partition
        )
        wall = time.monotonic() - t
    assert result.success
    assets = {}
    for event in result.get_asset_materialization_events():
        m = event.event_specific_data.materialization
        if "seconds" in m.metadata:
            refresh = m.metadata["refresh"].value.split(":")[0] if "refresh" in m.metadata else ""
            assets[m.asset_key.path[-1]] = (float(m.metadata["seconds"].value), refresh)
    return wall, assets


def print_job(label: str, wall: float, assets: dict[str, tuple[float, str]]) -> float:
    sql = sum(seconds for seconds, _ in assets.values())
    print(
        f"{label}: wall {wall:.2f}s in {config.lanes()} lanes (MARTS_LANES), the SQL of its assets"
        f" {sql:.2f}s in all; load average {os.getloadavg()[0]:.1f}"
    )
    for name, (seconds, refresh) in sorted(assets.items(), key=lambda kv: -kv[1][0]):
        print(f"  {name:<20}{seconds:>8.2f}s  {refresh}")
    return sql


def backend_peak_mb(conn) -> float | None:
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _pandas_rfm(url: str, as_of: date, out: mp.Queue) -> None:
    import pandas as pd

    started = time.monotonic()
    with connect(url) as conn:
        cur = conn.execute(
            "SELECT customer_id, order_date, net_revenue::float8 FROM core.orders"
            " WHERE customer_id IS NOT NULL AND NOT is_cancelled AND NOT is_refunded"
            " AND order_date <= %s",
            (as_of,),
        )
        df = pd.DataFrame(cur.fetchall(), columns=["customer_id", "order_date", "net"])
    read = time.monotonic() - started
    g = df.groupby("customer_id").agg(
        last=("order_date", "max"), frequency=("order_date", "size"), monetary=("net", "sum")
    )
    g["recency"] = (pd.Timestamp(as_of) - pd.to_datetime(g["last"])).dt.days
    n = len(g)

    def score(values, ascending: bool):
        rank = values.rank(method="min", ascending=ascending)
        return (1 + 5 * (rank.astype("int64") - 1) // max(n - 1, 1)).clip(upper=5)

    g["r"], g["f"], g["m"] = (
        score(g["recency"], False),
        score(g["frequency"], True),
        score(g["monetary"].round(2), True),
    )
    total = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((total, read, peak, {c: (int(r.r), int(r.f), int(r.m)) for c, r in g.iterrows()}))


COMPARE_SKIP = {"rfm_snapshots", "changed_days", "refresh_state", "customer_segments"}


def snapshot_tables(conn) -> list[str]:
    """Copy every core and mart table (bench_copy.<schema>__<table>), to compare with a rebuild."""
    names = [
        f"{s}.{t}"
        for s, t in conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('core', 'marts')"
            " AND table_type = 'BASE TABLE' AND NOT EXISTS (SELECT 1 FROM pg_inherits i"  # a partition: in its parent
            " WHERE i.inhrelid = format('%I.%I', table_schema, table_name)::regclass) ORDER BY 1, 2"
        )
        if t not in COMPARE_SKIP
    ]
    conn.execute("DROP SCHEMA IF EXISTS bench_copy CASCADE; CREATE SCHEMA bench_copy")
    for name in names:
        conn.execute(f"CREATE TABLE bench_copy.{name.replace('.', '__')} AS {_select(conn, name)}")
    return names


def _select(conn, name: str) -> str:
    schema, table = name.split(".")
    cols = [
        c
        for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
            " ORDER BY ordinal_position",
            (schema, table),
        )
        if (name, c) != ("core.customer_keys", "added_at")
    ]
    return f"SELECT {', '.join(cols)} FROM {name}"  # noqa: S608 (catalog names)


def differing_rows(conn, names: list[str]) -> dict[str, int]:
    """Rows in one and not the other (both ways, duplicates counted) per table."""
    out = {}
    for name in names:
        copy = f"bench_copy.{name.replace('.', '__')}"
        now = _select(conn, name)
        out[name] = conn.execute(
            f"SELECT (SELECT count(*) FROM (TABLE {copy} EXCEPT ALL {now}) a)"  # noqa: S608
            f" + (SELECT count(*) FROM ({now} EXCEPT ALL TABLE {copy}) b)"
        ).fetchone()[0]
    conn.execute("DROP SCHEMA bench_copy CASCADE")
    return out


def timed_rebuild(conn, first: date, last: date, **kwargs) -> tuple[float, list[tuple[str, float]], dict]:
    steps: list[tuple[str, float]] = []
    mark = [time.monotonic()]

    def on_step(name: str) -> None:
        now = time.monotonic()
        steps.append((name, now - mark[0]))
        mark[0] = now

    t = time.monotonic()
    with conn.transaction():
        modes = rebuild(conn, first, last, on_step=on_step, **kwargs)
    return time.monotonic() - t, steps, modes


def print_steps(steps: list[tuple[str, float]], modes: dict[str, str]) -> None:
    for name, seconds in steps:
        print(f"  {name:<20}{seconds:>8.2f}s  {modes.get(name, '')}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument(
        "--payload-items",
        type=int,
        default=0,
        help="line items in each order's payload, as a storefront's order JSON carries them (0: none)",
    )
    ap.add_argument("--no-job", action="store_true", help="skip the marts_refresh job run")
    ap.add_argument("--database", help="keep the generated data in this database and reuse it on later runs")
    ap.add_argument("--full-only", action="store_true", help="stop after the full rebuild")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    server = database_url()
    database = kept_database(server, args.database) if args.database else _fresh(server)
    with database as (url, created):
        migrate(url)
        with connect(url, autocommit=True) as conn:
            if created:
                t = time.monotonic()
                generate(conn, args.orders, args.customers, payload_items=args.payload_items)
                print(
                    f"generated {args.orders:,} orders / {args.customers:,} customers"
                    f" in {time.monotonic() - t:.1f}s"
                )
            else:
                # Keys are only ever appended to: empty them so the rebuild starts from scratch again.
                conn.execute("TRUNCATE core.customer_keys")
                print(f"reusing the data in {args.database} (--orders and --customers ignored)")
            last = conn.execute("SELECT max(partition_date) FROM raw.website_orders").fetchone()[0]
            first = last - timedelta(days=729)
            full, steps, modes = timed_rebuild(conn, first, last, full=True)
            peak_pg = backend_peak_mb(conn)
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM core.orders), (SELECT count(*) FROM core.customers),"
                " (SELECT count(*) FROM marts.rfm), (SELECT count(*) FROM core.email_events)"
            ).fetchone()
        print(
            f"full rebuild of every mart: {full:.1f}s of SQL (backend peak {peak_pg or float('nan'):.0f} MB);"
            f" core.orders {counts[0]:,}, core.customers {counts[1]:,}, rfm rows {counts[2]:,},"
            f" email events {counts[3]:,}; load average {os.getloadavg()[0]:.1f}"
        )
        print_steps(steps, modes)
        ratio("marts full rebuild, SQL", f"{full:.1f}s", "target 30s", 30 / full, "<= 30s")
        if args.full_only:
            return 0

        if not args.no_job:
            with connect(url, autocommit=True) as conn:
                conn.execute("TRUNCATE core.customer_keys")
                scope.forget(conn)  # the job rebuilds everything again, its builders side by side
            wall, assets = run_job(url)
            sql = print_job("marts_refresh job, full (in process)", wall, assets)
            ratio("marts full rebuild, job wall", f"{wall:.1f}s", "target 30s", 30 / wall, "<= 30s")
            ratio(
                "marts full rebuild: one backend / job wall",
                f"job {wall:.1f}s",
                f"one backend {full:.1f}s",
                full / wall,
                "> 1x",
            )
            ratio(
                "marts_refresh job: its SQL / wall",
                f"wall {wall:.1f}s",
                f"SQL {sql:.1f}s",
                sql / wall,
                ">= 0.67x",
            )

            with connect(url, autocommit=True) as conn, conn.transaction():
                # As the daily segments job does after every refresh: the latest day's snapshot of
                # the rebuilt tables, so the new day's snapshot below is the usual one, of changes.
                build_segments(conn, last, last)

        with connect(url, autocommit=True) as conn:
            new_day = add_day(conn, last)
        if args.no_job:  # the daily refresh in one transaction, one builder after another
            with connect(url, autocommit=True) as conn:
                daily_all, steps, modes = timed_rebuild(conn, first, new_day, segments_from=new_day)
            segments = dict(steps)["customer_segments"]
            daily = daily_all - segments
            print(
                f"daily refresh with one new day ({new_day}), one transaction: load average {os.getloadavg()[0]:.1f}"
            )
            print_steps(steps, modes)
        else:  # what a brand runs: the job (its builders side by side), then the day's segments
            daily, assets = run_job(url)
            print_job(f"daily refresh with one new day ({new_day}), marts_refresh job", daily, assets)
            with connect(url, autocommit=True) as conn:
                t = time.monotonic()
                with conn.transaction():
                    build_segments(conn, new_day, new_day)
                    mode = conn.execute("SELECT current_setting('marts.segments_mode')").fetchone()[0]
                segments = time.monotonic() - t
            print(f"  the new day's segment snapshot: {segments:.2f}s, mode {mode}")
        print(
            f"daily refresh: {daily:.2f}s for every table but the segment snapshot, {segments:.2f}s for"
            f" the new day's segment snapshot, {daily + segments:.2f}s in all"
        )
        # The next day, as in a month's first days: a late change in the month before too, which
        # redoes that month's RFM snapshot.
        with connect(url, autocommit=True) as conn:
            new_day = add_day(conn, new_day)
            month_end = late_change(conn, new_day)
        if args.no_job:
            with connect(url, autocommit=True) as conn:
                late_all, steps, modes = timed_rebuild(conn, first, new_day, segments_from=new_day)
            late_segments = dict(steps)["customer_segments"]
            late, late_rfm = late_all - late_segments, dict(steps)["rfm"]
        else:
            late, assets = run_job(url)
            late_rfm = assets["rfm"][0]
            with connect(url, autocommit=True) as conn:
                t = time.monotonic()
                with conn.transaction():
                    build_segments(conn, new_day, new_day)
                late_segments = time.monotonic() - t
        print(
            f"daily refresh of the next day ({new_day}) with a late change in the month before (an order of"
            f" {month_end} cancelled):"
            f" {late:.2f}s for the tables (RFM {late_rfm:.2f}s),"
            f" {late_segments:.2f}s for the segment snapshot, {late + late_segments:.2f}s in all"
        )
        ratio(
            "marts daily refresh with a late change in the month before, with segments",
            f"{late + late_segments:.2f}s",
            "target 2s",
            2 / (late + late_segments),
            "<= 2s",
        )
        # The first day of the next month (the days before it added and refreshed untimed), in one
        # transaction: RFM writes the new month's snapshot whole, and the oldest month leaves.
        with connect(url, autocommit=True) as conn:
            while (new_day + timedelta(days=1)).day != 1:
                new_day = add_day(conn, new_day)
                with conn.transaction():
                    rebuild(conn, first, new_day, segments_from=new_day)
            new_day = add_day(conn, new_day)
            month_all, steps, modes = timed_rebuild(conn, first, new_day, segments_from=new_day)
        month_segments, month_rfm = dict(steps)["customer_segments"], dict(steps)["rfm"]
        print(
            f"daily refresh of a month's first day ({new_day}), one transaction:"
            f" {month_all - month_segments:.2f}s for the tables (RFM {month_rfm:.2f}s),"
            f" {month_segments:.2f}s for the segment snapshot, {month_all:.2f}s in all"
        )
        ratio(
            "marts daily refresh on a month's first day, with segments",
            f"{month_all:.2f}s",
            "target 2s",
            2 / month_all,
            "<= 2s",
        )
        with connect(url, autocommit=True) as conn:
            names = snapshot_tables(conn)
            again, steps, modes = timed_rebuild(conn, first, new_day, segments_from=new_day, full=True)
            differ = differing_rows(conn, names)
        print(f"full rebuild of the same data: {again:.1f}s; rows differing from the refresh:")
        print("  " + ", ".join(f"{k} {v}" for k, v in differ.items()))
        print(f"  in total {sum(differ.values())} differing rows over {len(differ)} tables")
        ratio(
            "marts daily refresh (tables) vs full rebuild",
            f"{daily:.2f}s",
            f"full {again:.1f}s",
            again / daily,
            "day <= 2s",
        )
        ratio(
            "marts daily refresh with segments",
            f"{daily + segments:.2f}s",
            "target 2s",
            2 / (daily + segments),
            "<= 2s",
        )

        # One RFM snapshot: SQL (fresh connection, so its peak is its own) vs pandas (child process).
        with connect(url) as conn:
            sqlfiles.apply_settings(conn, {**config.gucs(), "rfm_months": "1"})
            # Forget the fingerprints and the rows: the snapshot is computed and written whole.
            conn.execute("DELETE FROM marts.rfm_snapshots; TRUNCATE marts.rfm_scores")
            t = time.monotonic()
            sqlfiles.run(conn, "rfm")
            sql_seconds = time.monotonic() - t
            sql_peak = backend_peak_mb(conn)
            as_of = conn.execute("SELECT max(as_of) FROM marts.rfm").fetchone()[0]
            sql_scores = {
                c: (r, f, m) for c, r, f, m in conn.execute("SELECT customer_id, r, f, m FROM marts.rfm")
            }
        queue: mp.Queue = mp.get_context("spawn").Queue()
        child = mp.get_context("spawn").Process(target=_pandas_rfm, args=(url, as_of, queue))
        child.start()
        pd_seconds, pd_read, pd_peak, pd_scores = queue.get()
        child.join()
        same = sum(1 for c, s in pd_scores.items() if sql_scores.get(c) == s)
        print(f"RFM snapshot as of {as_of} for {len(sql_scores):,} customers:")
        print(f"  SQL    {sql_seconds:6.2f}s  backend peak {sql_peak or float('nan'):6.0f} MB")
        print(
            f"  pandas {pd_seconds:6.2f}s  (of which reading {pd_read:.2f}s)  process peak {pd_peak:6.0f} MB"
        )
        print(
            f"  ratio pandas/SQL: time {pd_seconds / sql_seconds:.2f}x"
            + (f", memory {pd_peak / sql_peak:.2f}x" if sql_peak else "")
        )
        print(f"  identical scores: {same:,} of {len(pd_scores):,} customers")
        ratio(
            "one RFM snapshot, SQL vs pandas",
            f"{sql_seconds:.2f}s",
            f"pandas {pd_seconds:.2f}s",
            pd_seconds / sql_seconds,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
