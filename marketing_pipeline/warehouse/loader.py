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
from datetime import date, timedelta

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

    A table partitioned by range on ``partition_column`` (migration 240) has each day's partition
    TRUNCATEd instead, created first when missing (``_day_partitions``). TRUNCATE holds an ACCESS
    EXCLUSIVE lock on the day's partition until the caller commits: readers of that day (and of
    the whole table) wait for the load's commit, readers of other days do not. Returns the rows
    DELETEd (a TRUNCATEd partition's rows are not counted).
    """
    with ChangeLog(conn, table) as log:
        return _delete_logged(conn, table, partitions, partition_column, log)


def _delete_logged(
    conn: psycopg.Connection, table: str, partitions: Sequence[date], partition_column: str, log: ChangeLog
) -> int:
    for day in sorted(partitions):
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{table}:{day.isoformat()}",))
    by_day = _by_day(conn, table, partition_column)
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
    if by_day is not None:
        return _truncate_days(conn, by_day, partitions, partition_column)
    cur = conn.execute(
        sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(_table(table), sql.Identifier(partition_column)),
        (list(partitions),),
    )
    return cur.rowcount


class _Parent:
    """A table partitioned by range on one date column: where its day partitions are."""

    def __init__(self, oid: int, schema: str, name: str, default: str | None):
        self.oid, self.schema, self.name, self.default = oid, schema, name, default

    def day(self, day: date) -> str:
        return f"{self.name}_d{day:%Y%m%d}"  # raw.tiktok_shop_order_lines_d20260101

    def ident(self, name: str | None = None) -> sql.Identifier:
        return sql.Identifier(self.schema, name or self.name)

    def children(self, conn: psycopg.Connection) -> set[str]:
        return {
            name
            for (name,) in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = %s",
                (self.oid,),
            )
        }


def _by_day(conn: psycopg.Connection, table: str, column: str) -> _Parent | None:
    """The table as a partitioned one when it is partitioned by range on ``column`` alone, else None."""
    found = conn.execute(
        "SELECT p.partrelid, n.nspname, c.relname, d.relname FROM pg_partitioned_table p"
        " JOIN pg_class c ON c.oid = p.partrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_class d ON d.oid = p.partdefid"
        " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
        " WHERE p.partrelid = to_regclass(%s) AND p.partstrat = 'r' AND p.partnatts = 1 AND a.attname = %s",
        (table, column),
    ).fetchone()
    return _Parent(*found) if found else None


def _truncate_days(conn: psycopg.Connection, parent: _Parent, days: Sequence[date], column: str) -> int:
    """Empty each day's partition with TRUNCATE, creating the partitions that are missing.

    A missing partition is created as a table of its own, then attached: ATTACH PARTITION takes
    SHARE UPDATE EXCLUSIVE on the parent, which readers of the parent (the marts builders) do not
    wait for, where CREATE TABLE .. PARTITION OF would hold ACCESS EXCLUSIVE on it, blocking every
    reader of any day until this load commits. ATTACH does hold ACCESS EXCLUSIVE on the default
    partition until commit: readers that scan it (readers of the whole table, which wait for the
    TRUNCATEd day anyway) wait; readers of other days do not. The parent's lock (LOCK TABLE ONLY: its
    partitions stay free) is taken before anything else of the partitions' (the default partition's
    rows and lock), so two loads that both create days queue on it, one after the other, and cannot
    deadlock; a load whose days exist takes no lock on the parent beyond its writes' and runs beside
    them. The day's rows in the default partition are deleted first (ATTACH refuses while it holds
    any): they are the ones being replaced.
    """
    deleted = 0
    days = sorted(set(days))
    if not days:
        return 0
    have = parent.children(conn)
    if any(parent.day(d) not in have for d in days):
        conn.execute(sql.SQL("LOCK TABLE ONLY {} IN SHARE UPDATE EXCLUSIVE MODE").format(parent.ident()))
        have = parent.children(conn)  # another load may have created some meanwhile
        for day in days:
            name = parent.day(day)
            if name in have:
                continue
            if parent.default:
                deleted += conn.execute(
                    sql.SQL("DELETE FROM {} WHERE {} = %s").format(
                        parent.ident(parent.default), sql.Identifier(column)
                    ),
                    (day,),
                ).rowcount
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE"
                    " INCLUDING COMPRESSION)"
                ).format(parent.ident(name), parent.ident())
            )
            conn.execute(
                sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                    parent.ident(), parent.ident(name), sql.Literal(day), sql.Literal(day + timedelta(days=1))
                )
            )
    conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(parent.ident(parent.day(d)) for d in days)))
    return deleted


def replace_partitions(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    partitions: Sequence[date],
    partition_column: str = "partition_date",
) -> int:
    """Empty the given partitions (``delete_partitions``), then COPY the new rows straight into the table.

    Rows are streamed: memory does not grow with the partition. Writing straight into the
    table (not via a staging copy) keeps the loader close to bare COPY speed; the caller's
    transaction is what makes the swap atomic. Each changed day is logged once. Into a table
    partitioned by day the COPY meets empty partitions (TRUNCATEd, not DELETEd): no dead row
    under any key it inserts.
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
