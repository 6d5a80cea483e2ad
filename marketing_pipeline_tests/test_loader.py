"""The bulk loader: partition replace and upsert are idempotent and atomic, against real PostgreSQL."""

from datetime import date

import psycopg
import pytest

from marketing_pipeline.warehouse import migrate, replace_partitions, upsert_rows
from marketing_pipeline.warehouse.engine import connect

D1, D2 = date(2026, 1, 1), date(2026, 1, 2)
COLS = ("id", "value", "partition_date")


@pytest.fixture
def table(conn):
    conn.execute("CREATE TABLE raw.t (id text PRIMARY KEY, value int NOT NULL, partition_date date NOT NULL)")
    return "raw.t"


def rows_of(conn):
    return conn.execute("SELECT id, value, partition_date FROM raw.t ORDER BY id").fetchall()


def load(url, rows, days):
    with connect(url) as c:
        return replace_partitions(c, "raw.t", COLS, iter(rows), days)


def test_replace_partition_twice_gives_identical_rows(warehouse_url, conn, table):
    load(warehouse_url, [("b", 2, D2)], [D2])
    day1 = [("a1", 1, D1), ("a2", 2, D1)]
    assert load(warehouse_url, day1, [D1]) == 2
    first = rows_of(conn)
    assert load(warehouse_url, day1, [D1]) == 2
    assert rows_of(conn) == first == [("a1", 1, D1), ("a2", 2, D1), ("b", 2, D2)]


def test_failure_halfway_leaves_previous_rows(warehouse_url, conn, table):
    load(warehouse_url, [("a", 1, D1), ("b", 2, D1)], [D1])
    before = rows_of(conn)

    def stream():
        yield ("a", 10, D1)
        raise ConnectionError("vendor went away mid-stream")

    with pytest.raises(ConnectionError):
        load(warehouse_url, stream(), [D1])
    assert rows_of(conn) == before


def test_duplicate_record_fails_the_whole_partition(warehouse_url, conn, table):
    load(warehouse_url, [("a", 1, D1)], [D1])
    with pytest.raises(psycopg.errors.UniqueViolation):
        load(warehouse_url, [("x", 1, D1), ("x", 2, D1)], [D1])
    assert rows_of(conn) == [("a", 1, D1)]


def test_upsert_updates_on_key_and_last_row_in_batch_wins(warehouse_url, conn, table):
    with connect(warehouse_url) as c:
        upsert_rows(c, "raw.t", COLS, [("a", 1, D1), ("b", 1, D1)], key=["id"])
    with connect(warehouse_url) as c:
        upsert_rows(c, "raw.t", COLS, [("a", 5, D1), ("c", 1, D2), ("c", 9, D2)], key=["id"])
    assert rows_of(conn) == [("a", 5, D1), ("b", 1, D1), ("c", 9, D2)]


def test_migrations_are_recorded_and_not_reapplied(warehouse_url, conn):
    assert migrate(warehouse_url) == []
    applied = [r[0] for r in conn.execute("SELECT version FROM ops.schema_migrations ORDER BY version")]
    assert applied[0] == "001_schemas" and applied == sorted(applied)
