"""Blocking checks of the core tables, run in the builder's own lane right after it commits.

A failed gate keeps every builder that reads the checked table from starting, while the other
branches go on; Dagster then fails the step, naming the check. They guard what activation and the
dashboard read.
"""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import psycopg

from marketing_pipeline.marts import sources as src


@dataclass(frozen=True)
class Gate:
    name: str
    asset: str
    description: str
    evaluate: Callable[[psycopg.Connection], tuple[bool, dict]]

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(dg.AssetKey(self.asset), self.name)

    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=self.asset, blocking=True, description=self.description)

    def result(self, conn: psycopg.Connection) -> dg.AssetCheckResult:
        passed, metadata = self.evaluate(conn)
        return dg.AssetCheckResult(
            asset_key=dg.AssetKey(self.asset),
            check_name=self.name,
            passed=passed,
            metadata={k: v for k, v in metadata.items() if v is not None},
        )


def customers_keys_unique(conn: psycopg.Connection) -> tuple[bool, dict]:
    dupes = conn.execute(
        "SELECT count(*) FROM (SELECT email FROM core.customers WHERE email IS NOT NULL"
        " GROUP BY email HAVING count(*) > 1) d"
    ).fetchone()[0]
    return dupes == 0, {"emails_on_several_customers": dupes}


# Both in force, no source order can be stored twice (migration 242): nothing to count.
_ONE_ROW_PER_SOURCE_ORDER = """
    SELECT count(*) = 2 FROM pg_constraint
    WHERE conrelid = 'core.orders'::regclass AND convalidated
      AND (conname = 'orders_key_is_channel_and_id' AND pg_get_constraintdef(oid)
               = 'CHECK ((order_key = ((channel || '':''::text) || source_order_id)))'
           OR contype = 'p' AND conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                                WHERE attrelid = 'core.orders'::regclass AND attname = 'order_key')])"""


def orders_keys_and_lines(conn: psycopg.Connection) -> tuple[bool, dict]:
    if conn.execute(_ONE_ROW_PER_SOURCE_ORDER).fetchone()[0]:
        dupes = 0
    else:
        dupes = conn.execute(  # grouped, hashed: DISTINCT on a row sorts
            "SELECT coalesce(sum(n - 1), 0)::bigint FROM ("
            " SELECT count(*) AS n FROM core.orders GROUP BY channel, source_order_id HAVING count(*) > 1) d"
        ).fetchone()[0]
    orphans, no_customer = conn.execute("""
        SELECT (SELECT count(*) FROM core.order_lines l
                 WHERE NOT EXISTS (SELECT 1 FROM core.orders o WHERE o.order_key = l.order_key)),
               (SELECT count(*) FROM core.orders WHERE customer_id IS NULL)""").fetchone()
    return dupes == 0 and orphans == 0 and no_customer == 0, {
        "duplicate_orders": dupes,
        "orphan_lines": orphans,
        "orders_without_customer": no_customer,
    }


def orders_revenue_reconciles(conn: psycopg.Connection) -> tuple[bool, dict]:
    mismatches: list[str] = []
    for source in src.SOURCES:
        if not source.revenue_sql or not src.present(conn, source):
            continue
        rows = conn.execute(
            f"""
            WITH s(day, revenue) AS ({source.revenue_sql}),
                 c AS (SELECT order_date AS day, sum(gross_revenue) AS revenue FROM core.orders
                       WHERE channel = %s GROUP BY 1)
            SELECT coalesce(s.day, c.day), s.revenue, c.revenue FROM s FULL JOIN c ON c.day = s.day
            WHERE s.revenue IS DISTINCT FROM c.revenue ORDER BY 1 LIMIT 20""",  # noqa: S608 (constant)
            (source.revenue_channel,),
        ).fetchall()
        mismatches += [f"{source.name} {d}: source {s} core {c}" for d, s, c in rows]
    return not mismatches, {
        "mismatched_days": len(mismatches),
        "examples": dg.MetadataValue.text("\n".join(mismatches[:10])) if mismatches else None,
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
]
