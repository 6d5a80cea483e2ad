"""Bulk loading: stream rows with COPY, replacing partitions or upserting on a key, atomically.

Every function takes an open connection inside a transaction owned by the caller, so an asset
can write several tables (orders and their lines) and commit them together: a failure
anywhere leaves the previous rows untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import psycopg
from psycopg import sql


def _copy(
    conn: psycopg.Connection, table: sql.Composable, columns: Sequence[str], rows: Iterable[Sequence]
) -> int:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(table, sql.SQL(", ").join(map(sql.Identifier, columns)))
    count = 0
    with conn.cursor().copy(stmt) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(*name.split("."))


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Append rows with COPY. The plain building block; prefer the two functions below."""
    return _copy(conn, _table(table), columns, rows)


def delete_partitions(
    conn: psycopg.Connection, table: str, partitions: Sequence[date], partition_column: str = "partition_date"
) -> int:
    """Lock and empty the given partitions of a table (inside the caller's transaction).

    An advisory lock per (table, partition) keeps two runs of the same day from interleaving.
    """
    for day in sorted(partitions):
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{table}:{day.isoformat()}",))
    cur = conn.execute(
        sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(_table(table), sql.Identifier(partition_column)),
        (list(partitions),),
    )
    return cur.rowcount


def replace_partitions(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    partitions: Sequence[date],
    partition_column: str = "partition_date",
) -> int:
    """Delete the given partitions' rows, then COPY the new ones straight into the table.

    Rows are streamed: memory does not grow with the partition. Writing straight into the
    table (not via a staging copy) keeps the loader close to bare COPY speed; the caller's
    transaction is what makes the swap atomic.
    """
    delete_partitions(conn, table, partitions, partition_column)
    return _copy(conn, _table(table), columns, rows)


def upsert_rows(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    key: Sequence[str],
) -> int:
    """COPY rows into a temp table, then ``INSERT .. ON CONFLICT (key) DO UPDATE`` the target.

    The last row for a key in the batch wins, so a page that repeats a record cannot fail the load.
    """
    temp = sql.Identifier(f"_load_{table.replace('.', '_')}")
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
            temp, _table(table)
        )
    )
    count = _copy(conn, temp, columns, rows)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    keys = sql.SQL(", ").join(map(sql.Identifier, key))
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns if c not in key
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO {target} ({cols}) SELECT DISTINCT ON ({keys}) {cols} FROM {temp} ORDER BY {keys}, ctid DESC "
            "ON CONFLICT ({keys}) DO UPDATE SET {updates}"
        ).format(target=_table(table), cols=cols, keys=keys, temp=temp, updates=updates)
    )
    conn.execute(sql.SQL("DROP TABLE {}").format(temp))
    return count
