"""customer_predictions at scale: fit (holdout and full) and score 200,000 customers / ~1,000,000 orders.

    .venv/bin/python bench/predictions.py [--customers 200000] [--orders 1000000] [--holdout-weeks 26]

core.orders is filled straight from the models' own generative story (BG/NBD purchases with
dropout, Gamma-Gamma spend) in a scratch database, so the bench also shows the fit recovering the
parameters it was drawn from. Timed: what the asset does (summary SQL, calibration fit and holdout,
full fit, scoring, writing marts.customer_predictions), one transaction. Baseline in the same run:
the summary query alone. CPU seconds of this process and of its PostgreSQL backend are printed
beside the wall time: on a shared machine they are the part that does not depend on the load.
Peak memory: this process's max RSS and the PostgreSQL backend's.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.marts import backend_peak_mb  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from marketing_pipeline.marts import predictions  # noqa: E402
from marketing_pipeline.warehouse import connect, database_url, migrate  # noqa: E402

TRUE = {"r": 0.6, "alpha": 8.0, "a": 0.8, "b": 6.0, "p": 6.0, "q": 4.0, "v": 15.0}  # weeks
WEEKS = 104


def simulate(customers: int, orders: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer index, day offset, value) per purchase; first purchases spread over the first year.
    Purchase rates are scaled so the expected total is about ``orders``."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], customers)
    drop = rng.beta(TRUE["a"], TRUE["b"], customers)
    nu = rng.gamma(TRUE["q"], 1 / TRUE["v"], customers)
    start = rng.uniform(0, 52, customers)
    cust, when = [np.arange(customers)], [start]
    t, alive = start.copy(), np.ones(customers, bool)
    while alive.any() and sum(len(c) for c in cust) < orders:
        t = t + rng.exponential(1 / lam)
        alive &= t < WEEKS
        cust.append(np.flatnonzero(alive))
        when.append(t[alive])
        alive &= rng.random(customers) >= drop  # after each purchase: drop out with probability p
    c, w = np.concatenate(cust)[:orders], np.concatenate(when)[:orders]
    value = np.round(rng.gamma(TRUE["p"], 1 / nu[c]), 2)
    return c, np.floor(w * 7).astype(int), value


def load(conn, customers: int, orders: int, first: date) -> int:
    c, day, value = simulate(customers, orders)
    buf = io.StringIO()
    for n, (ci, d, v) in enumerate(zip(c.tolist(), day.tolist(), value.tolist(), strict=True)):
        on = first + timedelta(days=d)
        buf.write(f"website:{n}\twebsite\t{n}\tc{ci}\t{on}T12:00:00Z\t{on}\tplaced\tf\tf\tUSD\t{v}\t0\t{v}\n")
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(
            "COPY core.orders (order_key, channel, source_order_id, customer_id, ordered_at, order_date, status,"
            " is_cancelled, is_refunded, currency, gross_revenue, refunded_amount, net_revenue) FROM STDIN"
        ) as copy:
            copy.write(buf.getvalue())
    conn.execute("ANALYZE core.orders")
    return len(c)


def backend_cpu(conn) -> float:
    """utime + stime of the connection's PostgreSQL backend, from /proc (same machine)."""
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--holdout-weeks", type=int, default=26)
    args = ap.parse_args()
    first = date(2024, 1, 1)
    as_of = first + timedelta(weeks=WEEKS) - timedelta(days=1)
    with scratch_database(database_url()) as url:
        migrate(url)
        with connect(url, autocommit=True) as conn:
            n = load(conn, args.customers, args.orders, first)
            started = time.monotonic()
            predictions.summary(conn, as_of, as_of)
            baseline = time.monotonic() - started
        opts = predictions.Options(holdout_weeks=args.holdout_weeks)
        with connect(url) as conn:
            load_before = os.getloadavg()
            pg_cpu = backend_cpu(conn)
            started, cpu = time.monotonic(), time.process_time()
            out, scored = predictions.run(conn, as_of, opts)
            rows = predictions.write(conn, out, scored, opts)
            conn.commit()
            total, cpu = time.monotonic() - started, time.process_time() - cpu
            pg_cpu = backend_cpu(conn) - pg_cpu
            backend = backend_peak_mb(conn)
            load_after = os.getloadavg()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"customer_predictions as of {as_of}: {out.customers:,} customers, {n:,} orders, {rows:,} rows written"
    )
    print(
        f"  total {total:.1f}s (target <= 30 s) = {total / baseline:.1f} x reading the summary alone ({baseline:.2f}s)"
    )
    print(
        f"  CPU: this process {cpu:.1f}s, PostgreSQL backend {pg_cpu:.1f}s (the rest is waiting for a core)"
    )
    print(
        f"  load average (1, 5, 15 min) before {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}"
        f", after {load_after[0]:.1f} {load_after[1]:.1f} {load_after[2]:.1f} on {os.cpu_count()} cores"
    )
    for step, seconds in out.seconds.items():
        print(f"  {step:<10}{seconds:8.2f}s")
    print(f"  write     {total - sum(out.seconds.values()):8.2f}s")
    print(f"  peak memory: this process {peak:,.0f} MB, PostgreSQL backend {backend or float('nan'):,.0f} MB")
    print(f"  fit ok: {out.fit_ok} {'; '.join(out.problems)}; holdout MAE {out.holdout_mae:.3f}")
    print(f"  distinct (x, recency, T) scored: {len(scored['x']):,} for {out.customers:,} customers")
    print("  parameters: " + ", ".join(f"{k} {v:.3f} (drawn from {TRUE[k]})" for k, v in out.params.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
