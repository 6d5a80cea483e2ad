"""The checks of the core tables and marts, run inside their builder's transaction before it commits.

Write, audit, publish: a builder whose blocking audit fails is rolled back, so the dashboard,
activation and the builders that read the table keep its last rows that passed; its readers do not
start, the other branches go on, and Dagster fails the step, naming the check. The change log the
builder read stays unread, so the next run audits the same days again until they pass. A warning
(``blocking=False``: an anomaly, a stale source) is reported beside its asset and holds nothing.

Since no row that failed is ever committed, a refresh audits only what it wrote: the customers it
recomputed, the lines it wrote and the days of the orders it replaced (``marts.incremental``, with
the builder's scope tables). A full rebuild, or an audit called on its own, reads the whole table.

Running them in the model's step, not as steps of their own, costs a run no Dagster step per check
(about 0.1 s of a daily refresh's wall for the three warnings).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import dagster as dg
import psycopg

from marketing_pipeline import clock, settings
from marketing_pipeline.marts import sources as src


@dataclass(frozen=True)
class Gate:
    name: str
    asset: str
    description: str
    evaluate: Callable[[psycopg.Connection], tuple[bool, dict]]
    blocking: bool = True  # False: a warning, which never holds its builder's commit

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(dg.AssetKey(self.asset), self.name)

    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            self.name, asset=self.asset, blocking=self.blocking, description=self.description
        )

    def result(self, conn: psycopg.Connection) -> dg.AssetCheckResult:
        passed, metadata = self.evaluate(conn)
        return dg.AssetCheckResult(
            asset_key=dg.AssetKey(self.asset),
            check_name=self.name,
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR if self.blocking else dg.AssetCheckSeverity.WARN,
            metadata={k: v for k, v in metadata.items() if v is not None},
        )


def holds(results: list[dg.AssetCheckResult]) -> bool:
    """Whether these results keep their builder from committing: a blocking check failed."""
    return any(not r.passed and r.severity == dg.AssetCheckSeverity.ERROR for r in results)


def _refresh(conn: psycopg.Connection) -> bool:
    """Whether this transaction is a builder's refresh (its scope tables are there to read)."""
    return conn.execute(
        "SELECT coalesce(nullif(current_setting('marts.incremental', true), ''), 'off')::boolean"
    ).fetchone()[0]


# In force, no email can be on two customers (migration 254): nothing to count.
_ONE_CUSTOMER_PER_EMAIL = """
    SELECT EXISTS (SELECT 1 FROM pg_index
                   WHERE indrelid = 'core.customers'::regclass AND indisunique AND indisvalid
                     AND indpred IS NULL AND indexprs IS NULL
                     AND indnatts = 1 AND indkey[0] = (SELECT attnum FROM pg_attribute
                                                        WHERE attrelid = 'core.customers'::regclass
                                                          AND attname = 'email'))"""


def customers_keys_unique(conn: psycopg.Connection) -> tuple[bool, dict]:
    refresh = _refresh(conn)
    if conn.execute(_ONE_CUSTOMER_PER_EMAIL).fetchone()[0]:
        return True, {"emails_on_several_customers": 0, "audited": "the unique index on email"}
    # A refresh rewrites only the customers in customers_todo: a new duplicate involves one of them.
    scope = (
        " AND email IN (SELECT email FROM core.customers WHERE customer_id IN (SELECT customer_id FROM customers_todo))"
        if refresh
        else ""
    )
    dupes = conn.execute(
        "SELECT count(*) FROM (SELECT email FROM core.customers WHERE email IS NOT NULL"  # noqa: S608 (constant)
        f"{scope} GROUP BY email HAVING count(*) > 1) d"
    ).fetchone()[0]
    return dupes == 0, {"emails_on_several_customers": dupes, "audited": _audited(refresh)}


def _today(conn: psycopg.Connection) -> date:
    """The brand's today, in the builder's zone (``marts.tz``), by the product's clock: not the
    server's ``current_date``, which is in the server's zone and cannot be set by a test."""
    return clock.today(ZoneInfo(conn.execute("SELECT current_setting('marts.tz')").fetchone()[0]))


def _audited(refresh: bool) -> str:
    return "what this refresh wrote" if refresh else "the whole table"


# Both in force, no source order can be stored twice (migration 242): nothing to count.
_ONE_ROW_PER_SOURCE_ORDER = """
    SELECT count(*) = 2 FROM pg_constraint
    WHERE conrelid = 'core.orders'::regclass AND convalidated
      AND (conname = 'orders_key_is_channel_and_id' AND pg_get_constraintdef(oid)
               = 'CHECK ((order_key = ((channel || '':''::text) || source_order_id)))'
           OR contype = 'p' AND conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                                WHERE attrelid = 'core.orders'::regclass AND attname = 'order_key')])"""

# A refresh's orders are the staged ones; its lines are the rows this transaction inserted (xmin:
# the builders write without savepoints), about a thousand a day, found in one scan without a join.
_REFRESH_ORDERS = " WHERE (channel, source_order_id) IN (SELECT channel, source_order_id FROM stg_orders)"
_REFRESH_LINES = " AND l.xmin = pg_current_xact_id()::xid"


def orders_keys_and_lines(conn: psycopg.Connection) -> tuple[bool, dict]:
    refresh = _refresh(conn)
    if conn.execute(_ONE_ROW_PER_SOURCE_ORDER).fetchone()[0]:
        dupes = 0
    else:
        dupes = conn.execute(  # grouped, hashed: DISTINCT on a row sorts
            "SELECT coalesce(sum(n - 1), 0)::bigint FROM (SELECT count(*) AS n FROM core.orders"  # noqa: S608
            f"{_REFRESH_ORDERS if refresh else ''} GROUP BY channel, source_order_id HAVING count(*) > 1) d"
        ).fetchone()[0]
    orphans, no_customer = conn.execute(  # noqa: S608 (constants)
        f"""
        SELECT (SELECT count(*) FROM core.order_lines l
                 WHERE NOT EXISTS (SELECT 1 FROM core.orders o WHERE o.order_key = l.order_key)
                 {_REFRESH_LINES if refresh else ""}),
               (SELECT count(*) FROM core.orders WHERE customer_id IS NULL)"""  # read through its index
    ).fetchone()
    return dupes == 0 and orphans == 0 and no_customer == 0, {
        "duplicate_orders": dupes,
        "orphan_lines": orphans,
        "orders_without_customer": no_customer,
        "audited": _audited(refresh),
    }


def orders_revenue_reconciles(conn: psycopg.Connection) -> tuple[bool, dict]:
    # A refresh: the source days it read and the order days it changed, as constants (the source's
    # sums are then read through its day index, not over every day).
    days = (
        [d for (d,) in conn.execute("SELECT day FROM scope_days UNION SELECT day FROM scope_changed")]
        if _refresh(conn)
        else None
    )
    mismatches: list[str] = []
    present = src.present_names(conn)
    for source in src.SOURCES:
        if not source.revenue_sql or source.name not in present or days == []:
            continue
        on_days = "" if days is None else "WHERE day = ANY(%(days)s)"
        rows = conn.execute(
            f"""
            WITH s(day, revenue) AS ({source.revenue_sql}),
                 c AS (SELECT order_date AS day, sum(gross_revenue) AS revenue FROM core.orders
                       WHERE channel = %(channel)s GROUP BY 1)
            SELECT coalesce(s.day, c.day), s.revenue, c.revenue
            FROM (SELECT * FROM s {on_days}) s FULL JOIN (SELECT * FROM c {on_days}) c ON c.day = s.day
            WHERE s.revenue IS DISTINCT FROM c.revenue ORDER BY 1 LIMIT 20""",  # noqa: S608 (constant)
            {"channel": source.revenue_channel, "days": days},
        ).fetchall()
        mismatches += [f"{source.name} {d}: source {s} core {c}" for d, s, c in rows]
    return not mismatches, {
        "mismatched_days": len(mismatches),
        "examples": dg.MetadataValue.text("\n".join(mismatches[:10])) if mismatches else None,
        "audited": _audited(days is not None),
    }


def _anomaly(conn: psycopg.Connection, sql: str, label: str) -> tuple[bool, dict]:
    """The latest full day (before the brand's today) against the mean of the 28 before it: more than
    3 standard deviations is odd."""
    row = conn.execute(
        f"""
        WITH d AS ({sql}), last AS (SELECT max(day) AS day FROM d WHERE day < %s)
        SELECT l.day, (SELECT value FROM d WHERE d.day = l.day),
               avg(d.value), stddev_samp(d.value), count(d.value)
        FROM last l LEFT JOIN d ON d.day >= l.day - 28 AND d.day < l.day
        GROUP BY l.day""",  # noqa: S608 (constant)
        (_today(conn),),
    ).fetchone()
    if not row or row[0] is None or row[4] < 7:
        return True, {"note": "fewer than 7 trailing days: nothing to compare"}
    day, value, mean, sd, n = row
    z = 0.0 if not sd else float((value - mean) / sd)
    return abs(z) <= 3, {
        "day": str(day),
        label: float(value or 0),
        "trailing_mean": float(mean),
        "z_score": round(z, 2),
    }


def revenue_anomaly(conn: psycopg.Connection) -> tuple[bool, dict]:
    return _anomaly(conn, "SELECT day, sum(revenue) AS value FROM marts.channel_daily GROUP BY 1", "revenue")


def sessions_anomaly(conn: psycopg.Connection) -> tuple[bool, dict]:
    return _anomaly(
        conn, "SELECT session_date AS day, sum(sessions) AS value FROM core.sessions GROUP BY 1", "sessions"
    )


def sources_fresh(conn: psycopg.Connection) -> tuple[bool, dict]:
    rows = conn.execute(
        """
        SELECT source, count(*) FILTER (WHERE status = 'missing'), bool_or(status = 'source_absent')
        FROM marts.source_coverage WHERE day >= %(today)s - %(days)s AND day < %(today)s
        GROUP BY source ORDER BY source""",
        {"today": _today(conn), "days": settings.load().lookback_days},
    ).fetchall()
    gaps = {s: m for s, m, absent in rows if m}
    absent = [s for s, _, a in rows if a]
    return not gaps, {
        "missing_days": dg.MetadataValue.json(gaps),
        "sources_absent": dg.MetadataValue.text(", ".join(absent) or "-"),
    }


GATES = [
    Gate(
        "customers_keys_unique",
        "core_customers",
        "No email and no platform id belongs to two customers.",
        customers_keys_unique,
    ),
    Gate(
        "orders_keys_and_lines",
        "core_orders",
        "One row per source order, every line belongs to an order, every order has a customer.",
        orders_keys_and_lines,
    ),
    Gate(
        "orders_revenue_reconciles",
        "core_orders",
        "For every day, core revenue per channel equals what the source charged that day.",
        orders_revenue_reconciles,
    ),
    Gate(
        "revenue_anomaly",
        "channel_daily",
        "Yesterday's revenue is within 3 sd of its trailing 28-day mean.",
        revenue_anomaly,
        blocking=False,
    ),
    Gate(
        "sessions_anomaly",
        "core_sessions",
        "Yesterday's sessions are within 3 sd of the trailing mean.",
        sessions_anomaly,
        blocking=False,
    ),
    Gate(
        "sources_fresh",
        "source_coverage",
        "Every present source loaded each of the last LOOKBACK_DAYS days (warns otherwise).",
        sources_fresh,
        blocking=False,
    ),
]
