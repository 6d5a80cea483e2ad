"""Website orders: pushed orders (upsert_orders), CSV history import (CLI), bad rows, consent, partitions."""

import csv
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from marketing_pipeline import cli
from marketing_pipeline.http import MalformedRecord
from marketing_pipeline.sandbox.demo import website as demo
from marketing_pipeline.sandbox.website.export import to_website_order, website_orders, write_csv
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.sources.website.csv_import import import_csv
from marketing_pipeline.sources.website.orders import parse_website_order, upsert_orders
from marketing_pipeline.sources.website.staging import FIELDS, RejectedInput
from marketing_pipeline_tests.conftest import TODAY, recent_day
from marketing_pipeline_tests.website_support import csv_row, snapshot, write_orders_csv

WORLD = World(seed=7, today=TODAY)


def sample(days_ago: int, n: int | None = None):
    day = recent_day(days_ago)
    orders = list(website_orders(WORLD, day, day))
    return orders[:n] if n else orders


def test_upsert_orders_is_idempotent_and_records_checkout_consent(conn):
    orders = sample(3, 25)
    assert upsert_orders(conn, [to_website_order(o) for o in orders], "checkout") == 25
    first = snapshot(conn)
    assert upsert_orders(conn, [to_website_order(o) for o in orders], "checkout") == 25
    assert snapshot(conn) == first
    rows, lines, consent = first
    assert [r[0] for r in rows] == sorted(o.order_id for o in orders)
    assert len(lines) == sum(len(o.lines) for o in orders)
    assert sum(r[8] for r in rows) == sum(o.total for o in orders)
    emails = {o.customer.email: o.customer.accepts_marketing for o in orders}
    assert {(e, c) for e, c, *_ in consent} == set(emails.items())
    assert {s for _, _, s, _ in consent} == {"website.checkout"}


def test_a_pushed_order_replaces_its_earlier_version_and_lines(conn):
    order = to_website_order(sample(4, 1)[0])
    upsert_orders(conn, [order], "checkout")
    changed = order.model_copy(update={"lines": order.lines[:1], "total": Decimal("1.23"), "subtotal": None})
    upsert_orders(conn, [changed], "checkout")
    total, line_count = conn.execute("SELECT total, line_count FROM raw.website_orders").fetchone()
    assert (total, line_count) == (Decimal("1.23"), 1)
    assert conn.execute("SELECT count(*) FROM raw.website_order_lines").fetchone()[0] == 1


def test_a_malformed_pushed_order_names_the_order_and_fields():
    with pytest.raises(MalformedRecord) as caught:
        parse_website_order(
            {
                "order_id": "W1",
                "email": "nobody",
                "created_at": "2025-01-01T10:00:00",
                "currency": "USD",
                "lines": [],
            }
        )
    message = str(caught.value)
    assert "W1" in message and "email" in message and "created_at" in message and "lines" in message


def test_csv_import_is_idempotent_and_matches_the_exported_orders(conn, tmp_path):
    orders = sample(5)
    path = tmp_path / "orders.csv"
    rows = write_csv(path, orders)
    result = import_csv(conn, path)
    assert (result.orders, result.lines, result.rows_read) == (len(orders), rows, rows)
    first = snapshot(conn)
    assert import_csv(conn, path).orders == len(orders)
    assert snapshot(conn) == first
    assert sum(r[8] for r in first[0]) == sum(o.total for o in orders)
    assert result.checked_because is None  # a clean export takes the fast path
    assert {(r[16], r[14]) for r in first[0]} == {("csv:orders.csv", None)}
    assert sorted(r[17] for r in first[0])[0] == 2  # the first order starts on the line after the header


def test_a_bad_row_names_its_line_and_problem_and_nothing_is_written(conn, tmp_path):
    path = tmp_path / "bad.csv"
    write_orders_csv(
        path,
        [
            csv_row("W1"),
            csv_row("W2", quantity="two"),
            csv_row("W3", created_at="2025-03-01 14:05:00"),
            csv_row("W4"),
            csv_row("W4", sku="SKU2", total="99.00"),
        ],
    )
    with pytest.raises(RejectedInput) as caught:
        import_csv(conn, path)
    text = str(caught.value)
    assert "line 3 (order W2): quantity 'two' is not a whole number" in text
    assert (
        "line 4 (order W3): created_at '2025-03-01 14:05:00' is not an ISO 8601 time with a zone offset"
        in text
    )
    assert "line 6 (order W4): order field(s) total differ from line 5" in text
    assert conn.execute("SELECT count(*) FROM raw.website_orders").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM ops.consent").fetchone()[0] == 0


def test_line_numbers_stay_right_when_a_quoted_field_spans_lines(conn, tmp_path):
    path = tmp_path / "multiline.csv"
    write_orders_csv(
        path, [csv_row("W1", product_name="Gift box\nwith card"), csv_row("W2", unit_price="-3")]
    )
    with pytest.raises(
        RejectedInput, match=r"line 4 \(order W2\): unit_price '-3' is not a non-negative amount"
    ):
        import_csv(conn, path)


def test_cli_skip_bad_writes_the_rest_and_lists_what_it_skipped(warehouse_url, conn, tmp_path, capsys):
    path = tmp_path / "mixed.csv"
    write_orders_csv(path, [csv_row("W1"), csv_row("W2", email="not-an-email"), csv_row("W3", sku="SKU9")])
    assert cli.main(["import-orders", str(path)]) == 1
    assert "line 3 (order W2): email 'not-an-email' is not an email address" in capsys.readouterr().err
    assert conn.execute("SELECT count(*) FROM raw.website_orders").fetchone()[0] == 0
    assert cli.main(["import-orders", str(path), "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert (
        "imported 2 orders" in out and "skipped 1 bad row(s); orders left out: W2" in out and "line 3" in out
    )
    assert "checked path (every line checked in SQL): an order value the fast checks do not vouch for" in out
    assert [r[0] for r in conn.execute("SELECT order_id FROM raw.website_orders ORDER BY 1")] == ["W1", "W3"]


def test_partition_date_is_the_brand_local_day(conn, tmp_path, monkeypatch):
    monkeypatch.setenv("BRAND_TIMEZONE", "America/Los_Angeles")
    path = tmp_path / "tz.csv"
    write_orders_csv(path, [csv_row("W1", created_at="2025-03-02T03:30:00Z")])
    import_csv(conn, path)
    created, day = conn.execute("SELECT created_at, partition_date FROM raw.website_orders").fetchone()
    assert created == datetime(2025, 3, 2, 3, 30, tzinfo=UTC) and day.isoformat() == "2025-03-01"


def test_demo_step_imports_the_window_and_summarises_it(warehouse_url, conn, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETING_STATE_DIR", str(tmp_path))
    days = [recent_day(3), recent_day(2)]
    history = [recent_day(5), recent_day(4), *days]
    ctx = SimpleNamespace(
        days=days,
        history=history,
        first=days[0].isoformat(),
        last=days[-1].isoformat(),
        extra={},
        runtime=SimpleNamespace(warehouse_url=warehouse_url),
    )
    demo.run(ctx)
    # The whole order history goes in one import, not only the window.
    expected = [o for d in history for o in website_orders(World(seed=7), d, d)]
    assert ctx.extra["website_import"]["orders"] == len(expected)
    lines = demo.summary(conn, ctx)
    assert any(days[0].isoformat() in line for line in lines) and any("imported" in line for line in lines)


def test_one_bad_line_among_good_orders_is_named_alone(conn, tmp_path):
    good = tmp_path / "good.csv"
    write_csv(good, sample(6))
    with good.open(newline="") as handle:
        rows = list(csv.reader(handle))
    bad_line = len(rows) // 2 + 1  # the file's physical line (header is line 1)
    rows[bad_line - 1][FIELDS.index("unit_price")] = "-1.00"
    path = tmp_path / "one_bad.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(RejectedInput) as caught:
        import_csv(conn, path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].line == bad_line
    assert "unit_price '-1.00' is not a non-negative amount" in str(caught.value)
    assert conn.execute("SELECT count(*) FROM raw.website_order_lines").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM ops.consent").fetchone()[0] == 0


def test_order_fields_that_differ_between_lines_are_named(conn, tmp_path):
    path = tmp_path / "differ.csv"
    write_orders_csv(path, [csv_row("W1"), csv_row("W2"), csv_row("W2", sku="SKU2", email="b@example.com")])
    with pytest.raises(
        RejectedInput, match=r"line 4 \(order W2\): order field\(s\) email differ from line 3"
    ):
        import_csv(conn, path)
