"""The loader on the TikTok Shop order tables, partitioned by day (migration 240): a day is replaced
by TRUNCATE of its partition and COPY, inside the caller's transaction, and logged as changed."""

from datetime import UTC, date, datetime

import psycopg
import pytest

from marketing_pipeline.cart_recovery.exit_rules import exit_reason
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.sources.tiktok_shop.assets import LINE_COLUMNS, LINES_TABLE, ORDERS_TABLE
from marketing_pipeline.warehouse import connect, delete_partitions, replace_partitions
from marketing_pipeline_tests.loader_support import hand_written_insert, line, logged, mark, whole

D1, D2, D3, D4 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3), date(2026, 1, 4)


def load(url, rows, days):
    with connect(url) as c:
        return replace_partitions(c, LINES_TABLE, LINE_COLUMNS, iter(rows), days)


def stored(conn):
    """(partition, order_id, partition_date) of every line, by day and order."""
    return conn.execute(
        f"SELECT tableoid::regclass::text, order_id, partition_date FROM {LINES_TABLE} ORDER BY 3, 2"
    ).fetchall()


def part(day: date) -> str:
    return f"{LINES_TABLE}_d{day:%Y%m%d}"


DEFAULT = f"{LINES_TABLE}_default"


def partitions(conn) -> list[str]:
    return [
        name
        for (name,) in conn.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass ORDER BY 1",
            (LINES_TABLE,),
        )
    ]


def test_the_order_tables_are_partitioned_by_day_with_a_default_partition(conn):
    for table in (ORDERS_TABLE, LINES_TABLE):
        assert conn.execute("SELECT pg_get_partkeydef(%s::regclass)", (table,)).fetchone() == (
            "RANGE (partition_date)",
        )
        assert conn.execute(
            "SELECT partdefid::regclass::text FROM pg_partitioned_table WHERE partrelid = %s::regclass",
            (table,),
        ).fetchone() == (f"{table}_default",)
    keys = conn.execute(
        "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = ANY(%s::regclass[]) AND contype = 'p' ORDER BY 1",
        ([ORDERS_TABLE, LINES_TABLE],),
    ).fetchall()
    assert keys == [
        (LINES_TABLE, "PRIMARY KEY (order_id, line_item_id, partition_date)"),
        (ORDERS_TABLE, "PRIMARY KEY (order_id, partition_date)"),
    ]


def test_replacing_a_day_keeps_the_other_days_and_logs_the_day(warehouse_url, conn):
    load(warehouse_url, [line(1, D1), line(2, D2), line(3, D2), line(4, D3)], [D1, D2, D3])
    assert partitions(conn) == [part(D1), part(D2), part(D3), DEFAULT]
    mark(conn)
    load(warehouse_url, [line(5, D2)], [D2])
    assert stored(conn) == [
        (part(D1), "O1", D1),
        (part(D2), "O5", D2),
        (part(D3), "O4", D3),
    ]
    assert logged(conn, LINES_TABLE) == [D2]
    assert not whole(conn, LINES_TABLE)  # the partition's TRUNCATE fired no trigger of the parent


def test_a_missing_partition_is_created_taking_only_its_day_out_of_the_default_partition(warehouse_url, conn):
    # Hand-written rows, without partitions of their days: the default partition holds them.
    for i, day in ((1, D1), (2, D2), (3, D3)):
        hand_written_insert(conn, line(i, day))
    assert {p for p, *_ in stored(conn)} == {DEFAULT}
    mark(conn)
    load(warehouse_url, [line(9, D2)], [D2, D4])
    assert stored(conn) == [
        (DEFAULT, "O1", D1),
        (part(D2), "O9", D2),
        (DEFAULT, "O3", D3),
    ]
    assert partitions(conn) == [part(D2), part(D4), DEFAULT]
    assert logged(conn, LINES_TABLE) == [D2, D4]
    # The new partitions are like the others: the parent's key, its columns' defaults.
    assert conn.execute(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass", (part(D2),)
    ).fetchall() == [
        (
            f"CREATE UNIQUE INDEX tiktok_shop_order_lines_d20260102_pkey ON {part(D2)}"
            " USING btree (order_id, line_item_id, partition_date)",
        )
    ]
    assert conn.execute(f"SELECT _loaded_at IS NOT NULL FROM {part(D2)}").fetchone() == (True,)


def stream_then_fail(*rows):
    yield from rows
    raise ConnectionError("vendor went away mid-stream")


@pytest.mark.parametrize("existing", [True, False], ids=["day's partition exists", "day's partition is new"])
def test_a_failure_mid_copy_leaves_the_old_rows_of_the_day(warehouse_url, conn, existing):
    if existing:
        load(warehouse_url, [line(1, D1), line(2, D2)], [D1, D2])
    else:
        hand_written_insert(conn, line(1, D1))
        hand_written_insert(conn, line(2, D2))
    before, names = stored(conn), partitions(conn)
    mark(conn)
    with pytest.raises(ConnectionError):
        load(warehouse_url, stream_then_fail(line(7, D1), line(8, D1)), [D1])
    assert stored(conn) == before
    assert partitions(conn) == names
    assert logged(conn, LINES_TABLE) == []


def test_statements_through_the_parent_log_the_whole_table(conn):
    hand_written_insert(conn, line(1, D1))
    for statement in (
        f"INSERT INTO {LINES_TABLE} SELECT * FROM {LINES_TABLE}_default WHERE false",
        f"UPDATE {LINES_TABLE} SET sku_id = 'S2'",
        f"DELETE FROM {LINES_TABLE} WHERE order_id = 'O1'",
        f"TRUNCATE {LINES_TABLE}",
    ):
        mark(conn)
        conn.execute(statement)
        assert whole(conn, LINES_TABLE), statement


def test_delete_partitions_empties_the_days_of_both_order_tables(warehouse_url, conn):
    load(warehouse_url, [line(1, D1), line(2, D2)], [D1, D2])
    mark(conn)
    with connect(warehouse_url) as c:
        delete_partitions(c, ORDERS_TABLE, [D1])
        delete_partitions(c, LINES_TABLE, [D1])
    assert stored(conn) == [(part(D2), "O2", D2)]
    assert logged(conn, LINES_TABLE) == [D1]
    assert logged(conn, ORDERS_TABLE) == [D1]
    assert conn.execute(f"SELECT to_regclass('{ORDERS_TABLE}_d20260101') IS NOT NULL").fetchone() == (True,)


def _waits(url, statement) -> bool:
    """Whether ``statement`` has to wait for a lock (given up after 0.5 s)."""
    with psycopg.connect(url) as other:
        other.execute("SET lock_timeout = '500ms'")
        try:
            other.execute(statement)
        except psycopg.errors.LockNotAvailable:
            return True
    return False


def test_while_a_load_runs_readers_of_other_days_and_loads_of_existing_days_go_on(warehouse_url, conn):
    load(warehouse_url, [line(1, D1), line(2, D2), line(3, D3)], [D1, D2, D3])
    with connect(warehouse_url) as c:
        replace_partitions(c, LINES_TABLE, LINE_COLUMNS, [line(4, D4)], [D1, D4])  # D4 is created
        # Still uncommitted: readers of other days read, readers of its days wait for its commit.
        assert not _waits(warehouse_url, f"SELECT count(*) FROM {LINES_TABLE} WHERE partition_date = '{D2}'")
        assert _waits(warehouse_url, f"SELECT count(*) FROM {LINES_TABLE} WHERE partition_date = '{D1}'")
        assert _waits(warehouse_url, f"SELECT count(*) FROM {LINES_TABLE}")
        # Another day's load runs beside it; another new day's waits for it (the parent's lock).
        with connect(warehouse_url) as other:
            other.execute("SET lock_timeout = '500ms'")
            replace_partitions(other, LINES_TABLE, LINE_COLUMNS, [line(5, D3)], [D3])
            other.rollback()
        with pytest.raises(psycopg.errors.LockNotAvailable), connect(warehouse_url) as other:
            other.execute("SET lock_timeout = '500ms'")
            replace_partitions(
                other, LINES_TABLE, LINE_COLUMNS, [line(6, date(2026, 1, 5))], [date(2026, 1, 5)]
            )
    load(warehouse_url, [line(6, date(2026, 1, 5))], [date(2026, 1, 5)])  # once it committed
    assert [o for _, o, _ in stored(conn)] == ["O2", "O3", "O4", "O6"]


def _tiktok_order(conn, order_id: str, created_at: datetime, day: date) -> None:
    conn.execute(
        f"INSERT INTO {ORDERS_TABLE} (order_id, status, buyer_user_id, buyer_email, currency, shipping_fee,"
        " seller_discount, platform_discount, tax, total_amount, line_count, created_at, updated_at, payload,"
        " partition_date) VALUES (%s, 'COMPLETED', 'u1', 'Ann@Example.com', 'USD', 0, 0, 0, 0, 10, 1, %s, %s, '{}', %s)",
        (order_id, created_at, created_at, day),
    )


def test_the_cart_exit_rule_finds_an_order_stored_under_the_local_day_before_its_utc_date(
    warehouse_url, conn
):
    """The rule reads only the days since the cart went idle (a bound on partition_date), one day
    early: a brand west of UTC stores an order of 02:00 UTC under the day before."""
    with connect(warehouse_url) as c:
        delete_partitions(c, ORDERS_TABLE, [D1, D2, D3])  # the days' partitions, as the loader makes them
    idle = datetime(2026, 1, 3, 1, 0, tzinfo=UTC)
    cart = {"cart_id": "c1", "converted_at": None, "email": "ann@example.com", "item_count": 1}
    cart["last_activity_at"] = idle
    _tiktok_order(conn, "T0", datetime(2026, 1, 2, 20, 0, tzinfo=UTC), D2)  # before the cart went idle
    assert exit_reason(conn, cart, 1, RecoveryPolicy(), idle) != "ordered"
    _tiktok_order(conn, "T1", datetime(2026, 1, 3, 2, 0, tzinfo=UTC), D2)  # 18:00 on the 2nd in Los Angeles
    assert exit_reason(conn, cart, 1, RecoveryPolicy(), idle) == "ordered"
