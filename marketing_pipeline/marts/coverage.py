"""``marts.source_coverage``: for every source and day, loaded, missing or source absent.

A day is loaded when its Dagster partition was materialized, or (for sources pushed to us rather
than pulled, like website orders and carts) when it has rows. The marts read this table to show a
gap as a gap (NULL and a warning) instead of a silent zero.

A refresh counts again only the days each source's change log names (``scope.PLANS``) and the days
without a stored count; carts, without a change log, are counted whole. The statuses are worked out
again for every day (Dagster's materialized partitions change apart from the raw rows), and the
days whose status changed are logged for ``funnel_daily``.
"""

from collections.abc import Iterable, Mapping
from datetime import date

import psycopg

from marketing_pipeline.marts import scope, sqlfiles
from marketing_pipeline.marts import sources as src

_INSERT = """
INSERT INTO marts.source_coverage (source, day, status, row_count)
SELECT %(name)s, d::date,
       CASE WHEN NOT %(present)s THEN 'source_absent'
            WHEN coalesce(r.row_count, 0) > 0 OR d::date = ANY(%(done)s::date[]) THEN 'loaded'
            ELSE 'missing' END,
       coalesce(r.row_count, 0)
FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') d
LEFT JOIN cov_rows r ON r.day = d::date
"""

# The stored counts of the days not to count again, and the days to count: changed, or not stored.
_KEPT = """
INSERT INTO cov_rows
SELECT day, row_count FROM marts.source_coverage
WHERE source = %(name)s AND day BETWEEN %(first)s AND %(last)s
  AND day NOT IN (SELECT day FROM scope_days WHERE key = %(name)s)
"""
_RECOUNT = """
SELECT coalesce(array_agg(d ORDER BY d), '{}') FROM (
    SELECT day AS d FROM scope_days WHERE key = %(name)s AND day BETWEEN %(first)s AND %(last)s
    UNION
    SELECT d::date FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') d
    WHERE NOT EXISTS (SELECT 1 FROM marts.source_coverage c WHERE c.source = %(name)s AND c.day = d::date)
) s
"""


def refresh(
    conn: psycopg.Connection, first: date, last: date, materialized: Mapping[str, Iterable[str]] | None = None
) -> tuple[dict[str, dict[str, int]], str]:
    """Replace the coverage rows for [first, last]. ``materialized``: source name -> loaded partition keys.

    Returns the statuses per source and how it ran (full or incremental, and why).
    """
    materialized = materialized or {}
    present = src.present_names(conn)
    plan = scope.begin(conn, "source_coverage", sqlfiles.current_settings(conn), present)
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS cov_rows (day date, row_count bigint) ON COMMIT DROP")
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS cov_before (source text, day date, status text) ON COMMIT DROP"
    )
    conn.execute("TRUNCATE cov_before")
    conn.execute(
        "INSERT INTO cov_before SELECT source, day, status FROM marts.source_coverage"
        " WHERE day BETWEEN %s AND %s",
        (first, last),
    )
    counted = {}
    for source in src.SOURCES:
        conn.execute("TRUNCATE cov_rows")
        is_present = source.name in present
        args = {"name": source.name, "first": first, "last": last}
        if is_present and plan.incremental and source.name in scope.PLANS["source_coverage"].inputs:
            days = conn.execute(_RECOUNT, args).fetchone()[0]
            conn.execute(_KEPT, args)
            conn.execute("DELETE FROM cov_rows WHERE day = ANY(%s)", (days,))
            # The filter on the grouped day reaches the raw table's day index.
            conn.execute(
                f"INSERT INTO cov_rows SELECT * FROM ({source.day_sql}) c(day, n) WHERE c.day = ANY(%s)",  # noqa: S608 (our own constant SQL)
                (days,),
            )
            counted[source.name] = len(days)
        elif is_present:
            conn.execute(f"INSERT INTO cov_rows {source.day_sql}")  # noqa: S608 (our own constant SQL)
        conn.execute(
            "DELETE FROM marts.source_coverage WHERE source = %s AND day BETWEEN %s AND %s",
            (source.name, first, last),
        )
        conn.execute(
            _INSERT,
            {**args, "present": is_present, "done": sorted(set(materialized.get(source.name, ())))},
        )
    summary: dict[str, dict[str, int]] = {}
    for name, status, n in conn.execute(
        "SELECT source, status, count(*) FROM marts.source_coverage WHERE day BETWEEN %s AND %s GROUP BY 1, 2",
        (first, last),
    ):
        summary.setdefault(name, {})[status] = n
    conn.execute(
        "INSERT INTO scope_changed SELECT day FROM cov_before b"
        " FULL JOIN (SELECT * FROM marts.source_coverage WHERE day BETWEEN %s AND %s) a USING (source, day)"
        " WHERE b.status IS DISTINCT FROM a.status",
        (first, last),
    )
    scope.finish(conn, plan)
    mode = f"incremental: days counted again {counted}" if plan.incremental else f"full: {plan.reason}"
    return summary, mode
