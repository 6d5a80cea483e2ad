"""``marts.source_coverage``: for every source and day, loaded, missing or source absent.

A day is loaded when its Dagster partition was materialized, or (for sources pushed to us rather
than pulled, like website orders and carts) when it has rows. The marts read this table to show a
gap as a gap (NULL and a warning) instead of a silent zero.
"""

from collections.abc import Iterable, Mapping
from datetime import date

import psycopg

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


def refresh(
    conn: psycopg.Connection, first: date, last: date, materialized: Mapping[str, Iterable[str]] | None = None
) -> dict[str, dict[str, int]]:
    """Replace the coverage rows for [first, last]. ``materialized``: source name -> loaded partition keys."""
    materialized = materialized or {}
    conn.execute("DELETE FROM marts.source_coverage WHERE day BETWEEN %s AND %s", (first, last))
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS cov_rows (day date, row_count bigint) ON COMMIT DROP")
    summary: dict[str, dict[str, int]] = {}
    for source in src.SOURCES:
        conn.execute("TRUNCATE cov_rows")
        is_present = src.present(conn, source)
        if is_present:
            conn.execute(f"INSERT INTO cov_rows {source.day_sql}")  # noqa: S608 (our own constant SQL)
        conn.execute(
            _INSERT,
            {
                "name": source.name,
                "present": is_present,
                "first": first,
                "last": last,
                "done": sorted(set(materialized.get(source.name, ()))),
            },
        )
        summary[source.name] = dict(
            conn.execute(
                "SELECT status, count(*) FROM marts.source_coverage WHERE source = %s AND day BETWEEN %s AND %s"
                " GROUP BY 1",
                (source.name, first, last),
            ).fetchall()
        )
    return summary
