"""The order tables' writers log the days they change (migration 220), without statement triggers.

The incremental marts rewrite only the days in ``marts.changed_days``: a day a load changed and
did not log would keep stale rows. Each writer of the order tables is checked here: the loader's
partition replace (the TikTok Shop asset's path), the website CSV import (fast and checked
paths, first import and re-import), the intake's ``upsert_orders``, and any other statement
(the row trigger's fallback).
"""

from datetime import UTC, date, datetime

import pytest

from marketing_pipeline.sources.tiktok_shop.assets import LINE_COLUMNS, LINES_TABLE, ORDERS_TABLE
from marketing_pipeline.sources.website import csv_direct
from marketing_pipeline.sources.website.csv_import import import_csv
from marketing_pipeline.sources.website.orders import WebsiteOrder, WebsiteOrderLine, upsert_orders
from marketing_pipeline.warehouse import connect, copy_rows, delete_partitions, replace_partitions
from marketing_pipeline_tests.loader_support import hand_written_insert, line, log_rows, logged, mark, whole
from marketing_pipeline_tests.website_support import csv_row, write_orders_csv

D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
ORDER_TABLES = (
    "raw.tiktok_shop_orders",
    "raw.tiktok_shop_order_lines",
    "raw.website_orders",
    "raw.website_order_lines",
)


def test_no_order_table_keeps_its_rows_in_a_transition_table_or_has_a_row_trigger(conn):
    """What a million-row load paid ~2 s for: triggers referencing the written rows or run per row."""
    found = conn.execute(
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE tgrelid = ANY(%s::regclass[])"
        " AND (tgoldtable IS NOT NULL OR tgnewtable IS NOT NULL OR tgtype & 1 = 1)",
        (list(ORDER_TABLES),),
    ).fetchall()
    assert found == []
    have = conn.execute(
        "SELECT count(DISTINCT tgrelid) FROM pg_trigger WHERE tgrelid = ANY(%s::regclass[]) AND tgname = 'marts_log_whole'",
        (list(ORDER_TABLES),),
    ).fetchone()[0]
    assert have == len(ORDER_TABLES)


def test_a_partition_replace_logs_its_days_including_a_day_it_empties(warehouse_url, conn):
    with connect(warehouse_url) as c:
        replace_partitions(c, LINES_TABLE, LINE_COLUMNS, [line(1, D1), line(2, D2), line(3, D2)], [D1, D2])
    assert logged(conn, LINES_TABLE) == [D1, D2]
    # Once per day, not once per row: the row trigger stayed out of the loader's way.
    assert log_rows(conn, LINES_TABLE) == 2
    mark(conn)
    # D1's orders are gone at the source; D2 is read again with one order only.
    with connect(warehouse_url) as c:
        replace_partitions(c, LINES_TABLE, LINE_COLUMNS, [line(2, D2)], [D1, D2])
    assert logged(conn, LINES_TABLE) == [D1, D2]
    assert conn.execute(f"SELECT order_id FROM {LINES_TABLE}").fetchall() == [("O2",)]
    mark(conn)
    # Rows COPYed beyond the partitions replaced are logged under their own day.
    with connect(warehouse_url) as c:
        delete_partitions(c, LINES_TABLE, [D2])
        copy_rows(c, LINES_TABLE, LINE_COLUMNS, [line(4, D2), line(5, D3)])
    assert logged(conn, LINES_TABLE) == [D2, D3]
    assert logged(conn, ORDERS_TABLE) == []


def test_a_failed_load_logs_nothing_and_leaves_the_trigger_on(warehouse_url, conn):
    def stream():
        yield line(1, D1)
        raise ConnectionError("vendor went away mid-stream")

    with pytest.raises(ConnectionError), connect(warehouse_url) as c:
        replace_partitions(c, LINES_TABLE, LINE_COLUMNS, stream(), [D1])
    assert log_rows(conn, LINES_TABLE) == 0
    hand_written_insert(conn, line(9, D3))
    assert whole(conn, LINES_TABLE)


def test_after_a_load_other_statements_of_its_transaction_are_logged_by_the_trigger(warehouse_url, conn):
    with connect(warehouse_url) as c:
        replace_partitions(c, LINES_TABLE, LINE_COLUMNS, [line(1, D1)], [D1])
        assert not whole(c, LINES_TABLE)
        c.execute(f"UPDATE {LINES_TABLE} SET partition_date = %s WHERE order_id = 'O1'", (D3,))
    assert whole(conn, LINES_TABLE)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO raw.website_orders (order_id, email, created_at, currency, subtotal, discount, shipping, tax,"
        " total, line_count, source, partition_date)"
        " VALUES ('W9', 'a@example.com', '2026-01-01T12:00:00Z', 'USD', 1, 0, 0, 0, 1, 1, 'test', '2026-01-01')",
        "UPDATE raw.website_orders SET partition_date = '2026-01-03' WHERE order_id = 'W1'",
        "DELETE FROM raw.website_orders WHERE order_id = 'W2'",
        "UPDATE raw.website_orders SET total = 2 WHERE false",
        "TRUNCATE raw.website_orders",
    ],
    ids=["insert", "update", "delete", "no row", "truncate"],
)
def test_a_hand_written_statement_logs_the_whole_table(conn, statement):
    """A writer that does not log its days: the marts rebuild the table's dependants in full."""
    mark(conn)
    conn.execute(statement)
    assert whole(conn, "raw.website_orders")
    assert logged(conn, "raw.website_order_lines") == []


def _checked_only(*args, **kwargs):
    raise csv_direct.NotForFastPath("forced by the test")


def _three_days(path):
    write_orders_csv(
        path,
        [
            csv_row("W1", created_at="2025-03-01T10:00:00+00:00"),
            csv_row("W1", created_at="2025-03-01T10:00:00+00:00", sku="SKU2"),
            csv_row("W2", created_at="2025-03-03T10:00:00+00:00"),
            csv_row("W3", created_at="2025-03-05T10:00:00+00:00"),
        ],
    )


DAYS = [date(2025, 3, 1), date(2025, 3, 3), date(2025, 3, 5)]


@pytest.mark.parametrize("checked", [False, True], ids=["fast path", "checked path"])
def test_a_csv_import_logs_every_day_it_touches(conn, tmp_path, monkeypatch, checked):
    if checked:
        monkeypatch.setattr(csv_direct, "import_file", _checked_only)
    path = tmp_path / "orders.csv"
    _three_days(path)
    result = import_csv(conn, path)
    assert (result.checked_because is not None) == checked
    for table in ("raw.website_orders", "raw.website_order_lines"):
        assert logged(conn, table) == DAYS
        assert log_rows(conn, table) == 3
    mark(conn)
    # W1 loses a line, W2 moves from the 3rd to the 4th, W3 moves up a line in the file (its source
    # line): the days they were stored under and the days they are stored under now.
    write_orders_csv(
        path,
        [
            csv_row("W1", created_at="2025-03-01T10:00:00+00:00"),
            csv_row("W2", created_at="2025-03-04T10:00:00+00:00"),
            csv_row("W3", created_at="2025-03-05T10:00:00+00:00"),
        ],
    )
    import_csv(conn, path)
    expected = [date(2025, 3, 1), date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)]
    for table in ("raw.website_orders", "raw.website_order_lines"):
        assert logged(conn, table) == expected, table


def test_a_fast_import_after_stored_orders_logs_new_and_changed_days(conn, tmp_path):
    path = tmp_path / "orders.csv"
    write_orders_csv(path, [csv_row("W1", created_at="2025-03-01T10:00:00+00:00")])
    import_csv(conn, path)
    mark(conn)
    # W1 stored as it is; W2 new on the 2nd; W3 new on the 6th: both written through the staged merge.
    write_orders_csv(
        path,
        [
            csv_row("W1", created_at="2025-03-01T10:00:00+00:00"),
            csv_row("W2", created_at="2025-03-02T10:00:00+00:00"),
            csv_row("W3", created_at="2025-03-06T10:00:00+00:00"),
        ],
    )
    assert import_csv(conn, path).checked_because is None
    for table in ("raw.website_orders", "raw.website_order_lines"):
        assert logged(conn, table) == [date(2025, 3, 2), date(2025, 3, 6)], table


def _order(order_id: str, when: datetime) -> WebsiteOrder:
    return WebsiteOrder(
        order_id=order_id,
        email="a@example.com",
        created_at=when,
        currency="USD",
        lines=[WebsiteOrderLine(sku="S1", quantity=1, unit_price=10)],
    )


def test_the_intake_logs_the_days_of_the_orders_it_pushes_and_replaces(conn):
    upsert_orders(conn, [_order("P1", datetime(2025, 3, 1, 15, tzinfo=UTC))], "checkout")
    for table in ("raw.website_orders", "raw.website_order_lines"):
        assert logged(conn, table) == [date(2025, 3, 1)]
        assert log_rows(conn, table) == 1
    mark(conn)
    upsert_orders(conn, [_order("P1", datetime(2025, 3, 2, 15, tzinfo=UTC))], "checkout")
    for table in ("raw.website_orders", "raw.website_order_lines"):
        assert logged(conn, table) == [date(2025, 3, 1), date(2025, 3, 2)], table


def _keys(conn):
    return conn.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisprimary FROM pg_index"
        " WHERE indrelid IN ('raw.website_orders'::regclass, 'raw.website_order_lines'::regclass) ORDER BY 1"
    ).fetchall()


def test_a_first_import_into_empty_tables_builds_the_same_keys_afterwards(conn, tmp_path):
    before = _keys(conn)
    assert any(primary for *_, primary in before)
    path = tmp_path / "orders.csv"
    _three_days(path)
    assert import_csv(conn, path).checked_because is None
    assert _keys(conn) == before
    # The keys hold: the same orders again are found stored, not written twice.
    assert import_csv(conn, path).orders == 3
    assert conn.execute("SELECT count(*) FROM raw.website_order_lines").fetchone()[0] == 4
