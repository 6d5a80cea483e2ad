"""One abandoned-cart sensor tick over 100,000 open carts: its time and number of SQL statements.

Builds a scratch database with ``BENCH_OPEN_CARTS`` open carts (default 100,000) that have an
email and items, plus converted and anonymous carts as noise, in a steady state: each cart has
already had every step that fell due more than a minute ago, so a tick finds the ones that
fell due during the last minute (as the daemon's 60 s ticks do). Then:
  1. five ticks of the real Dagster sensor (``build_sensor_context``), clock +60 s each,
     counting every statement psycopg executes;
  2. a tick over unchanged state (must request nothing);
  3. baseline: the same tick with the partial index dropped (a sequential scan).
Prints the median tick time, statements per tick, requests, and indexed/baseline.
Target: < 1 s per tick and one statement. Server: ``BENCH_DATABASE_URL`` or
``MARKETING_TEST_DATABASE_URL`` or the warehouse; a scratch database is created and dropped.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg  # noqa: E402

from bench.scratch import server_url  # noqa: E402
from marketing_pipeline.cart_recovery.sensor import build_abandoned_cart_sensor  # noqa: E402
from marketing_pipeline.settings.recovery import RecoveryPolicy  # noqa: E402
from marketing_pipeline.warehouse import WarehouseResource, migrate  # noqa: E402

OPEN_CARTS = int(os.environ.get("BENCH_OPEN_CARTS", "100000"))
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class StatementCounter:
    """Counts statements sent by any psycopg cursor (Connection.execute goes through Cursor.execute)."""

    def __init__(self):
        self.count = 0
        self._original = psycopg.Cursor.execute

    def __enter__(self):
        counter, original = self, self._original

        def execute(cursor, *args, **kwargs):
            counter.count += 1
            return original(cursor, *args, **kwargs)

        psycopg.Cursor.execute = execute
        return self

    def __exit__(self, *exc):
        psycopg.Cursor.execute = self._original


def fill(url: str, policy: RecoveryPolicy) -> None:
    d1, d2, d3 = (int(s.delay.total_seconds()) for s in policy.steps)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"""
            INSERT INTO ops.carts (cart_id, channel, email, item_count, subtotal, created_at, last_activity_at,
                                   recovery_step, recovery_step_at, abandoned_at, converted_at)
            SELECT 'c' || g, 'website', CASE WHEN g %% 7 = 0 AND g > {OPEN_CARTS} THEN NULL ELSE 'p' || g || '@example.com' END,
                   1 + g %% 3, 30 + g %% 50, at - interval '20 minutes', at,
                   -- steady state: steps that fell due more than a minute ago were already requested
                   (CASE WHEN age - 60 >= {d1} THEN 1 ELSE 0 END + CASE WHEN age - 60 >= {d2} THEN 1 ELSE 0 END
                    + CASE WHEN age - 60 >= {d3} THEN 1 ELSE 0 END),
                   CASE WHEN age - 60 >= {d1} THEN at + make_interval(secs => {d1}) END,
                   CASE WHEN age - 60 >= {d1} THEN at END,
                   CASE WHEN g > {OPEN_CARTS} AND g %% 7 <> 0 THEN at + interval '5 minutes' END
            FROM (SELECT g, (g * 7919) %% (72 * 3600) AS age FROM generate_series(1, {OPEN_CARTS * 3 // 2}) g) s,
                 LATERAL (SELECT %s::timestamptz - make_interval(secs => age) AS at) t
        """,
            (NOW,),
        )
        conn.execute("ANALYZE ops.carts")


def tick(policy_fn, now: datetime, cursor: str | None, instance) -> tuple[float, int, int, str | None]:
    sensor = build_abandoned_cart_sensor(clock=lambda: now, policy=policy_fn)
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"warehouse": WarehouseResource(apply_migrations=False)}
    )
    with StatementCounter() as counter:
        started = time.perf_counter()
        data = sensor.evaluate_tick(context)
        seconds = time.perf_counter() - started
    return seconds, counter.count, len(data.run_requests or []), data.cursor


def main() -> int:
    server = server_url()
    name = f"mp_bench_sensor_{uuid.uuid4().hex[:6]}"
    info = psycopg.conninfo.conninfo_to_dict(server)
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(**{**info, "dbname": name})
    os.environ["MARKETING_DATABASE_URL"] = url
    try:
        migrate(url)
        policy = RecoveryPolicy()
        started = time.perf_counter()
        fill(url, policy)
        with psycopg.connect(url) as conn:
            open_carts = conn.execute(
                "SELECT count(*) FROM ops.carts WHERE email IS NOT NULL AND item_count > 0"
                " AND converted_at IS NULL"
            ).fetchone()[0]
            total = conn.execute("SELECT count(*) FROM ops.carts").fetchone()[0]
        print(
            f"carts: {total:,} ({open_carts:,} open with an email) built in {time.perf_counter() - started:.1f}s"
        )
        with dg.instance_for_test() as instance:
            tick(lambda: policy, NOW, None, instance)  # warm-up: imports, connection, plan cache
            times, statements, requests, cursor = [], [], [], None
            for i in range(1, 6):
                s, q, n, cursor = tick(lambda: policy, NOW + timedelta(seconds=60 * i), cursor, instance)
                times.append(s), statements.append(q), requests.append(n)
            same = tick(lambda: policy, NOW + timedelta(seconds=300), cursor, instance)
            with psycopg.connect(url, autocommit=True) as conn:
                plan = "\n".join(
                    r[0]
                    for r in conn.execute(
                        "EXPLAIN SELECT 1 FROM ops.carts c WHERE recovery_step = 1 AND email IS NOT NULL AND item_count > 0"
                        " AND converted_at IS NULL AND recovery_ended_at IS NULL AND last_activity_at <= now()"
                        " AND last_activity_at > now() - interval '48 hours'"
                    )
                )
                conn.execute("DROP INDEX ops.carts_recovery_due_idx")
                conn.execute("ANALYZE ops.carts")
            base = [
                tick(lambda: policy, NOW + timedelta(seconds=60 * i), cursor, instance)[0]
                for i in range(6, 9)
            ]
        median, baseline = statistics.median(times), statistics.median(base)
        print(
            f"sensor tick (Dagster evaluate_tick), 5 ticks 60 s apart: median {median * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms"
        )
        print(f"statements per tick: {statements}; run requests per tick: {requests}")
        print(
            f"tick over unchanged state: {same[0] * 1000:.1f} ms, {same[1]} statement(s), {same[2]} request(s)"
        )
        print(f"index used: {'carts_recovery_due_idx' in plan}")
        print(f"baseline without the partial index: median {baseline * 1000:.1f} ms")
        print(f"ratio indexed / baseline: {median / baseline:.3f}  (target: tick < 1 s with 1 statement)")
        ok = max(times) < 1.0 and set(statements) == {1} and same[2] == 0
        return 0 if ok else 1
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
