"""Cart intake under a sale's load: events/s and latency, beside the figures before the pool.

Starts ``marketing-pipeline web``'s app with uvicorn in a subprocess (``BENCH_WEB_WORKERS``
workers, default 1) on a scratch
database, then, from 8 client threads with keep-alive connections:
  1. single-event posts (``BENCH_SINGLE_EVENTS``, default 4,000, spread over 400 carts);
  2. 100-event batches (``BENCH_BATCHES``, default 40);
  3. where the time goes: ``/healthz`` under the same load (HTTP + framework floor), and the
     database work of one event alone (``store`` called in this process, no HTTP);
     for each load phase, the CPU milliseconds per event spent by the web server's processes,
     this load generator and the PostgreSQL backends of the scratch database, beside the whole
     machine's (the machine is shared: the load generator runs on it too, and so may others);
  4. folding cost against history: single events on a cart that already has 20,000 events
     (``BENCH_LONG_CART``) beside a fresh cart.
Nothing lost: every event id sent is counted in ``ops.cart_events`` at the end.

    .venv/bin/python bench/intake_load.py

Server: ``BENCH_DATABASE_URL`` or ``MARKETING_TEST_DATABASE_URL`` or the warehouse.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database, server_url  # noqa: E402
from marketing_pipeline.warehouse import migrate  # noqa: E402

KEY = "wk_bench_load"
CLIENTS = 8
SINGLE = int(os.environ.get("BENCH_SINGLE_EVENTS", "4000"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "40"))
LONG_CART = int(os.environ.get("BENCH_LONG_CART", "20000"))
PORT = int(os.environ.get("BENCH_PORT", "8791"))
WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "1"))
BEFORE = {"single": (64, 118, 268), "batch_events_per_s": 1157, "long_cart_request_s": "1.3-1.5"}
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def event(cart: str, n: int, run: str) -> dict:
    return {
        "event_id": f"{run}-{cart}-{n:06d}",
        "type": "item_added",
        "cart_id": cart,
        "occurred_at": (T0 + timedelta(milliseconds=n)).isoformat(),
        "item": {"sku_id": f"S{n % 7}", "name": "Glow Serum", "unit_price": "34.00"},
    }


def drive(bodies: list[tuple[str, bytes]], clients: int = CLIENTS) -> tuple[float, list[float], int]:
    """POST (path, body) pairs from ``clients`` threads; returns (seconds, latencies, non-2xx)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    chunks = [bodies[i::clients] for i in range(clients)]

    def worker(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        mine = []
        for path, body in chunk:
            t = time.perf_counter()
            if body:
                conn.request("POST", path, body, {"Content-Type": "application/json", "X-Write-Key": KEY})
            else:
                conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            mine.append(time.perf_counter() - t)
            if r.status >= 300:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, errors[0]


class CpuMeter:
    """CPU seconds spent by the web server's processes, this load generator and the PostgreSQL
    backends serving the scratch database, over a phase. The machine is shared (with other
    work too), so the load generator's own CPU is counted rather than assumed free."""

    def __init__(self, server: subprocess.Popen, dbname: str, admin_url: str):
        self.server, self.dbname, self.admin_url = psutil.Process(server.pid), dbname, admin_url

    def _backends(self) -> list[psutil.Process]:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            pids = [
                pid
                for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.dbname,),
                )
            ]
        return [psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)]

    @staticmethod
    def _cpu(procs: list[psutil.Process]) -> float:
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def snapshot(self) -> dict[str, float]:
        servers = [self.server, *self.server.children(recursive=True)]
        me = psutil.Process()
        return {
            "web server": self._cpu(servers),
            "load generator": me.cpu_times().user + me.cpu_times().system,
            "PostgreSQL": self._cpu(self._backends()),
            "whole machine": sum(psutil.cpu_times()[:3]),
        }

    @staticmethod
    def per_event(before: dict, after: dict, events: int) -> str:
        parts = [f"{k} {(after[k] - before[k]) / events * 1000:.2f}" for k in before]
        return "CPU ms per event: " + ", ".join(parts)


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def serve(url: str) -> subprocess.Popen:
    env = {**os.environ, "MARKETING_DATABASE_URL": url, "WEBSITE_WRITE_KEY": KEY}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "marketing_pipeline.web.app:create_app",
            "--factory",
            "--port",
            str(PORT),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(WORKERS),
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("web app did not start")


def db_only(url: str, n: int = 1000) -> tuple[float, float, float]:
    """The intake's database work alone (pooled connection, no HTTP), per event: seconds of wall
    time, CPU seconds in Python (this process) and CPU seconds in the PostgreSQL backend."""
    os.environ["MARKETING_DATABASE_URL"] = url
    from marketing_pipeline.cart_recovery.events import CartEvent
    from marketing_pipeline.warehouse import pooled
    from marketing_pipeline.web.intake import store

    events = [CartEvent.model_validate(event(f"db-{i % 100}", i, "db")) for i in range(n)]
    store([events[0]], "website")  # opens the pool
    with pooled() as conn:  # a pool of one connection after a quiet start: the one store() uses
        backend = psutil.Process(conn.info.backend_pid)
    cpu = backend.cpu_times()
    pg0, py0, start = cpu.user + cpu.system, time.process_time(), time.perf_counter()
    for e in events[1:]:
        store([e], "website")
    wall, py = time.perf_counter() - start, time.process_time() - py0
    cpu = backend.cpu_times()
    return wall / (n - 1), py / (n - 1), (cpu.user + cpu.system - pg0) / (n - 1)


def main() -> int:
    server = server_url()
    with scratch_database(server) as url:
        migrate(url)
        proc = serve(url)
        dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        meter = CpuMeter(proc, dbname, psycopg.conninfo.make_conninfo(url, dbname="postgres"))
        try:
            run = uuid.uuid4().hex[:6]
            # warm up: connections, pool, caches
            drive(
                [
                    ("/intake/cart-events", json.dumps(event(f"w{i}", i, run + "w")).encode())
                    for i in range(200)
                ]
            )
            singles = [
                ("/intake/cart-events", json.dumps(event(f"c{i % 400}", i, run)).encode())
                for i in range(SINGLE)
            ]
            cpu0 = meter.snapshot()
            s_secs, s_lat, s_err = drive(singles)
            s_cpu = CpuMeter.per_event(cpu0, meter.snapshot(), SINGLE)
            batches = [
                (
                    "/intake/cart-events",
                    json.dumps([event(f"b{b}", i, run) for i in range(100)]).encode(),
                )
                for b in range(BATCHES)
            ]
            cpu0 = meter.snapshot()
            b_secs, b_lat, b_err = drive(batches)
            b_cpu = CpuMeter.per_event(cpu0, meter.snapshot(), BATCHES * 100)
            cpu0 = meter.snapshot()
            h_secs, h_lat, _ = drive([("/healthz", b"")] * SINGLE)
            h_cpu = CpuMeter.per_event(cpu0, meter.snapshot(), SINGLE)
            # a cart with a long history, filled in batches, then single events on it and on a fresh cart
            long_cart = f"long-{run}"
            drive(
                [
                    (
                        "/intake/cart-events",
                        json.dumps([event(long_cart, k * 100 + i, run) for i in range(100)]).encode(),
                    )
                    for k in range(LONG_CART // 100)
                ],
                clients=1,
            )
            tail = [
                ("/intake/cart-events", json.dumps(event(long_cart, LONG_CART + i, run)).encode())
                for i in range(200)
            ]
            fresh = [
                ("/intake/cart-events", json.dumps(event(f"fresh-{run}", i, run)).encode())
                for i in range(200)
            ]
            # interleaved, so both see the same load on a shared machine
            _, both_lat, _ = drive([r for pair in zip(tail, fresh, strict=True) for r in pair], clients=1)
            long_lat, fresh_lat = both_lat[0::2], both_lat[1::2]
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        db_wall, db_py, db_pg = db_only(url)
        with psycopg.connect(url) as conn:
            stored = conn.execute(
                "SELECT count(*) FROM ops.cart_events WHERE event_id LIKE %s", (f"{run}-%",)
            ).fetchone()[0]
    sent = SINGLE + BATCHES * 100 + LONG_CART + 400
    old_rate, old_p50, old_p99 = BEFORE["single"]
    print(f"cart intake, {CLIENTS} concurrent clients, {WORKERS} uvicorn worker(s), {os.cpu_count()} cores")
    print(
        f"single events: {SINGLE / s_secs:,.0f} events/s, p50 {pct(s_lat, 50):.1f} ms, p99 {pct(s_lat, 99):.1f} ms"
        f"  (before: {old_rate} events/s, p50 {old_p50} ms, p99 {old_p99} ms; target >= 1,000/s, p99 <= 100 ms)"
    )
    print(f"  {s_cpu}")
    print(
        f"100-event batches: {BATCHES * 100 / b_secs:,.0f} events/s, p50 {pct(b_lat, 50):.0f} ms, p99 {pct(b_lat, 99):.0f} ms"
        f"  (before: {BEFORE['batch_events_per_s']:,} events/s)"
    )
    print(f"  {b_cpu}")
    print(
        f"where the time goes: /healthz alone {SINGLE / h_secs:,.0f} requests/s (p50 {pct(h_lat, 50):.1f} ms)"
    )
    print(f"  {h_cpu.replace('per event', 'per request')}")
    print(
        f"  one event's database work alone, one connection: {db_wall * 1000:.2f} ms"
        f" ({1 / db_wall:,.0f}/s); CPU ms: Python {db_py * 1000:.2f}, PostgreSQL {db_pg * 1000:.2f}"
    )
    print(
        f"one more event on a cart with {LONG_CART:,} events: p50 {pct(long_lat, 50):.1f} ms vs a fresh cart"
        f" {pct(fresh_lat, 50):.1f} ms  (before: {BEFORE['long_cart_request_s']} s per request)"
    )
    print(f"nothing lost: {stored:,} of {sent:,} events stored; non-2xx answers: {s_err + b_err}")
    return 0 if stored == sent and not (s_err or b_err) else 1


if __name__ == "__main__":
    raise SystemExit(main())
