"""Bulk loading: stream rows with COPY, replacing partitions or upserting on a key, atomically.

Every function takes an open connection inside a transaction owned by the caller, so an asset
can write several tables (orders and their lines) and commit them together: a failure
anywhere leaves the previous rows untouched.

Tables whose writers log their changed days themselves (the order tables, migration 220: they
carry the ``marts_log_whole`` trigger) get them logged here: ``delete_partitions`` logs the
partitions it empties, ``copy_rows`` the days of the rows it writes (``ChangeLog``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date

import psycopg
from psycopg import sql

GUARD = "marts.days_logged"  # 'on': the marts_log_whole triggers leave the logging to the writer
LOG_COLUMN = "partition_date"  # the day the change log names


class ChangeLog:
    """The days a writer changes in tables that leave logging them to their writers (migration 220).

    Opening it tells the tables' ``marts_log_whole`` triggers that this transaction's statements
    log their own days, until ``close`` (without it, a statement logs its whole table as changed);
    ``add`` collects days (written to ``marts.changed_days`` at ``close``), ``log_query`` logs
    the days a query returns at once. Every day a statement inside changes must be logged through
    it. For a table without that trigger (logged by the transition-table triggers of migration
    110, or not logged at all) both do nothing. ``close`` is only for the success path: after an
    error the transaction (or savepoint) rolls back the setting with the rest.
    """

    def __init__(self, conn: psycopg.Connection, *tables: str):
        self.conn = conn
        self.names: dict[str, str] = {}
        self.days: dict[str, set] = {}
        for table, name, own in conn.execute(
            "SELECT t, n.nspname || '.' || c.relname, EXISTS (SELECT 1 FROM pg_trigger g"
            " WHERE g.tgrelid = c.oid AND g.tgname = 'marts_log_whole')"
            " FROM unnest(%s::text[]) t JOIN pg_class c ON c.oid = to_regclass(t)"
            " JOIN pg_namespace n ON n.oid = c.relnamespace",
            (list(tables),),
        ).fetchall():
            if own:
                self.names[table] = name
                self.days[table] = set()
        self.previous: str | None = None
        if self.names:
            self.previous = conn.execute(
                "SELECT coalesce(current_setting(%s, true), ''), set_config(%s, 'on', true)", (GUARD, GUARD)
            ).fetchone()[0]

    def logs(self, table: str) -> bool:
        return table in self.names

    def add(self, table: str, days: Iterable) -> None:
        if table in self.names:
            self.days[table].update(days)

    def log_query(self, table: str, query: str, params: Sequence | dict | None = None) -> None:
        """Log the days ``query`` returns (one date column) for ``table``, now."""
        if table in self.names:
            name = sql.Literal(self.names[table]).as_string(self.conn)
            self.conn.execute(
                f"INSERT INTO marts.changed_days (tbl, day) SELECT DISTINCT {name}, d FROM ({query}) AS q (d)"
                " WHERE d IS NOT NULL",
                params,
            )

    def close(self) -> None:
        if not self.names:
            return
        for table, days in self.days.items():
            if days:
                self.conn.execute(
                    "INSERT INTO marts.changed_days (tbl, day) SELECT %s, d FROM unnest(%s::date[]) AS u (d)",
                    (self.names[table], sorted(days)),
                )
            days.clear()
        self.conn.execute("SELECT set_config(%s, %s, true)", (GUARD, self.previous))
        self.names = {}

    def __enter__(self) -> ChangeLog:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()


def _collect(rows: Iterable[Sequence], index: int, days: set) -> Iterator[Sequence]:
    add = days.add
    for row in rows:
        add(row[index])
        yield row


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
    """Append rows with COPY. The plain building block; prefer the two functions below.

    A table that leaves logging to its writers gets the days (``partition_date``) of the rows
    written logged (without that column among ``columns``, its trigger logs the whole table).
    """
    if LOG_COLUMN not in columns:
        return _copy(conn, _table(table), columns, rows)
    with ChangeLog(conn, table) as log:
        return _copy_logged(conn, table, columns, rows, log)


def _copy_logged(
    conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence], log: ChangeLog
) -> int:
    if log.logs(table):
        rows = _collect(rows, list(columns).index(LOG_COLUMN), log.days[table])
    return _copy(conn, _table(table), columns, rows)


def delete_partitions(
    conn: psycopg.Connection, table: str, partitions: Sequence[date], partition_column: str = "partition_date"
) -> int:
    """Lock and empty the given partitions of a table (inside the caller's transaction).

    An advisory lock per (table, partition) keeps two runs of the same day from interleaving.
    A table that leaves logging to its writers gets the partitions logged as changed.
    """
    with ChangeLog(conn, table) as log:
        return _delete_logged(conn, table, partitions, partition_column, log)


def _delete_logged(
    conn: psycopg.Connection, table: str, partitions: Sequence[date], partition_column: str, log: ChangeLog
) -> int:
    for day in sorted(partitions):
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{table}:{day.isoformat()}",))
    if partition_column == LOG_COLUMN:
        log.add(table, partitions)
    else:  # the log names the rows' own days
        log.log_query(
            table,
            sql.SQL("SELECT DISTINCT {} FROM {} WHERE {} = ANY(%s)")
            .format(sql.Identifier(LOG_COLUMN), _table(table), sql.Identifier(partition_column))
            .as_string(conn),
            (list(partitions),),
        )
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
    transaction is what makes the swap atomic. Each changed day is logged once.
    """
    with ChangeLog(conn, table) as log:
        _delete_logged(conn, table, partitions, partition_column, log)
        if LOG_COLUMN in columns:
            return _copy_logged(conn, table, columns, rows, log)
    return _copy(conn, _table(table), columns, rows)  # its trigger logs the whole table


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
