"""Export a mart as CSV for a date range: ``marketing-pipeline export-mart NAME --start --end [--out]``.

The rows are streamed by PostgreSQL's ``COPY ... TO STDOUT`` (memory stays flat for any range).
A mart's date column is the first of ``DATE_COLUMNS`` it has; a mart without one is exported whole.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import BinaryIO

import psycopg
from psycopg import sql

DATE_COLUMNS = ("day", "order_date", "as_of", "cohort_month")


class ExportError(ValueError):
    """An unknown mart or a range the mart cannot be cut by; the message says which."""


def marts(conn: psycopg.Connection) -> dict[str, str | None]:
    """Every table and view in ``marts`` -> its date column (None: none)."""
    rows = conn.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c"
        " WHERE c.table_schema = 'marts' AND c.data_type = 'date' AND c.column_name = ANY(%s)",
        (list(DATE_COLUMNS),),
    ).fetchall()
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    names = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1"
    ).fetchall()
    return {n: next((c for c in DATE_COLUMNS if c in found.get(n, [])), None) for (n,) in names}


def export(conn: psycopg.Connection, name: str, start: date | None, end: date | None, out: BinaryIO) -> int:
    """Write the mart's rows (within [start, end] on its date column) as CSV with a header; returns rows."""
    available = marts(conn)
    if name not in available:
        raise ExportError(f"no mart {name!r}; marts: {', '.join(available)}")
    column = available[name]
    if start and end and end < start:
        raise ExportError(f"--end {end} is before --start {start}")
    where, order = sql.SQL(""), sql.SQL("")
    if column:
        where = sql.SQL(
            " WHERE {c} BETWEEN coalesce({s}::date, '-infinity') AND coalesce({e}::date, 'infinity')"
        ).format(c=sql.Identifier(column), s=sql.Literal(start), e=sql.Literal(end))
        order = sql.SQL(" ORDER BY {c}").format(c=sql.Identifier(column))
    elif start or end:
        raise ExportError(
            f"mart {name!r} has no date column ({', '.join(DATE_COLUMNS)}); export it without a range"
        )
    query = sql.SQL("COPY (SELECT * FROM {t}{w}{o}) TO STDOUT WITH (FORMAT csv, HEADER)").format(
        t=sql.Identifier("marts", name), w=where, o=order
    )
    lines = 0
    with conn.cursor() as cur, cur.copy(query) as copy:
        for chunk in copy:
            out.write(chunk)
            lines += bytes(chunk).count(b"\n")
    return max(lines - 1, 0)  # the header; a quoted newline inside a value would count too


def run(name: str, start: str | None, end: str | None, out_path: str | None) -> int:
    from marketing_pipeline.warehouse import database_url

    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
    except ValueError as exc:
        print(f"error: --start/--end must be YYYY-MM-DD ({exc})", file=sys.stderr)
        return 2
    with psycopg.connect(database_url()) as conn:
        try:
            if out_path:
                with open(out_path, "wb") as out:
                    rows = export(conn, name, first, last, out)
                print(f"wrote {rows} row(s) of marts.{name} to {out_path}", file=sys.stderr)
            else:
                export(conn, name, first, last, sys.stdout.buffer)
        except ExportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0
