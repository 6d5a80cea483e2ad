"""The CSV import's fast path (``csv_direct``) against its checked path (``staging``).

The fast path may decline a file (it then goes to the checked path) but whatever it accepts
must end up exactly as the checked path would have written it.
"""

import csv

import pytest

from marketing_pipeline.sandbox.website.export import website_orders, write_csv
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.sources.website import csv_direct
from marketing_pipeline.sources.website.csv_import import import_csv
from marketing_pipeline.sources.website.staging import FIELDS, RejectedInput
from marketing_pipeline_tests.conftest import TODAY, recent_day
from marketing_pipeline_tests.website_support import csv_row, snapshot, write_orders_csv

WORLD = World(seed=7, today=TODAY)


class _Undo(Exception):
    pass


def _checked_only(*args, **kwargs):
    raise csv_direct.NotForFastPath("forced by the test")


def outcome(conn, path, monkeypatch, *, checked: bool):
    """(how it went, what was written) for one import, rolled back afterwards."""
    with monkeypatch.context() as patch:
        if checked:
            patch.setattr(csv_direct, "import_file", _checked_only)
        try:
            with conn.transaction():
                try:
                    result = import_csv(conn, path)
                except RejectedInput as exc:
                    return ("rejected", [str(p) for p in exc.problems]), None
                taken = "checked" if result.checked_because else "fast"
                written = (snapshot(conn), result.orders, result.lines, result.rows_read)
                raise _Undo
        except _Undo:
            return (taken, written[1:]), written[0]


def test_a_clean_export_takes_the_fast_path_and_writes_what_the_checked_path_writes(
    conn, tmp_path, monkeypatch
):
    orders = [o for d in (3, 4, 5) for o in website_orders(WORLD, recent_day(d), recent_day(d))]
    path = tmp_path / "orders.csv"
    write_csv(path, orders)
    (fast_how, fast_counts), fast_rows = outcome(conn, path, monkeypatch, checked=False)
    (checked_how, checked_counts), checked_rows = outcome(conn, path, monkeypatch, checked=True)
    assert (fast_how, checked_how) == ("fast", "checked")
    assert fast_counts == checked_counts and fast_counts[0] == len(orders)
    assert fast_rows == checked_rows
    assert fast_rows[2], "the sample records checkout consent"


def test_orders_spanning_chunks_are_written_whole(conn, tmp_path, monkeypatch):
    orders = list(website_orders(WORLD, recent_day(3), recent_day(3)))
    path = tmp_path / "orders.csv"
    write_csv(path, orders)
    monkeypatch.setattr(csv_direct, "CHUNK", 700)  # a few lines per chunk: most orders cross a boundary
    (how, counts), rows = outcome(conn, path, monkeypatch, checked=False)
    (_, checked_counts), checked_rows = outcome(conn, path, monkeypatch, checked=True)
    assert how == "fast" and counts == checked_counts and rows == checked_rows


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([csv_row("W1"), csv_row("W2"), csv_row("W1", sku="SKU2")], "consecutive lines"),
        ([csv_row("W1", product_name="Gift box\nwith card")], "not exactly one line"),
        ([csv_row("W1", product_name="Gift box\rwith card")], "carriage return"),
        ([csv_row("W1", subtotal="", discount="")], "do not vouch"),
        (
            [
                csv_row("W1", created_at="2025-03-01T14:05:00.5-03:30"),
                csv_row("W2", email="Ann.Lee+x@Example.COM"),
            ],
            None,
        ),
    ],
    ids=[
        "lines spread over the file",
        "quoted newline",
        "quoted carriage return",
        "order amounts missing",
        "unusual but fast",
    ],
)
def test_what_the_fast_path_declines_the_checked_path_imports(conn, tmp_path, monkeypatch, rows, reason):
    path = tmp_path / "orders.csv"
    write_orders_csv(path, rows)
    result = import_csv(conn, path)
    if reason is None:
        assert result.checked_because is None
    else:
        assert reason in result.checked_because
    fast_or_checked = snapshot(conn)
    conn.execute("TRUNCATE raw.website_orders, raw.website_order_lines, ops.consent")
    (how, _), checked_rows = outcome(conn, path, monkeypatch, checked=True)
    assert how == "checked" and checked_rows == fast_or_checked


def test_a_short_row_is_rejected_with_its_line(conn, tmp_path):
    path = tmp_path / "short.csv"
    write_orders_csv(path, [csv_row("W1")])
    with path.open("a", newline="") as handle:
        csv.writer(handle).writerow(csv_row("W2")[:-2])  # two cells missing at the end
    with pytest.raises(RejectedInput, match=r"line 3 \(order W2\): has 22 columns, the header has 24"):
        import_csv(conn, path)
    assert conn.execute("SELECT count(*) FROM raw.website_orders").fetchone()[0] == 0


def test_a_crlf_file_takes_the_fast_path(conn, tmp_path):
    path = tmp_path / "crlf.csv"
    with path.open("w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\r\n")
        out.writerow(FIELDS)
        out.writerows([csv_row("W1"), csv_row("W1", sku="SKU2"), csv_row("W2")])
    result = import_csv(conn, path)
    assert (result.checked_because, result.orders, result.lines) == (None, 2, 3)
    assert conn.execute("SELECT max(accepts_marketing::int) FROM raw.website_orders").fetchone()[0] == 1


def test_reimporting_changed_orders_replaces_them_and_their_lines(conn, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    write_orders_csv(
        first, [csv_row("W1"), csv_row("W1", sku="SKU2"), csv_row("W1", sku="SKU3"), csv_row("W2")]
    )
    write_orders_csv(second, [csv_row("W1", total="50.00"), csv_row("W3")])
    assert import_csv(conn, first).checked_because is None
    result = import_csv(conn, second)
    assert (result.checked_because, result.orders, result.lines) == (None, 2, 2)
    stored = conn.execute(
        "SELECT o.order_id, o.total, o.line_count, count(l.*) FROM raw.website_orders o"
        " JOIN raw.website_order_lines l USING (order_id) GROUP BY 1, 2, 3 ORDER BY 1"
    ).fetchall()
    assert [(i, str(t), n, c) for i, t, n, c in stored] == [
        ("W1", "50.00", 1, 1),
        ("W2", "42.75", 1, 1),
        ("W3", "42.75", 1, 1),
    ]


def test_reimporting_a_file_rewrites_only_the_orders_it_changes(conn, tmp_path):
    path = tmp_path / "orders.csv"
    w2 = {"created_at": "2025-03-05T10:00:00+00:00"}
    write_orders_csv(
        path,
        [
            csv_row("W1"),
            csv_row("W1", sku="SKU2"),
            csv_row("W2", **w2),
            csv_row("W3", **w2),
            csv_row("W3", **w2, sku="SKU2"),
        ],
    )
    assert import_csv(conn, path).checked_because is None

    def stored():
        return conn.execute(
            "SELECT o.order_id, o.ctid::text, array_agg(l.ctid::text ORDER BY l.line_number)"
            " FROM raw.website_orders o JOIN raw.website_order_lines l USING (order_id) GROUP BY 1, 2 ORDER BY 1"
        ).fetchall()

    def logged():
        return conn.execute(
            "SELECT DISTINCT tbl, day FROM marts.changed_days WHERE tbl LIKE 'raw.website_%' AND xact >"
            " (SELECT coalesce(max(xact), '0'::xid8) FROM marts.changed_days WHERE tbl = 'mark') ORDER BY 1, 2"
        ).fetchall()

    def mark():
        conn.execute("INSERT INTO marts.changed_days (tbl, day) VALUES ('mark', '2000-01-01')")

    first = stored()
    mark()
    result = import_csv(conn, path)
    assert (result.checked_because, result.orders, result.lines) == (None, 3, 5)
    assert stored() == first, "the same file again rewrites no row"
    assert logged() == [], "and logs no changed day for the marts"

    # A line of W1 changes; W3 loses a line and changes its total: W2 stays as it was.
    write_orders_csv(
        path,
        [csv_row("W1"), csv_row("W1", sku="SKU9"), csv_row("W2", **w2), csv_row("W3", **w2, total="50.00")],
    )
    mark()
    result = import_csv(conn, path)
    assert (result.checked_because, result.orders, result.lines) == (None, 3, 4)
    now = stored()
    assert [r[0] for r in now] == ["W1", "W2", "W3"]
    assert now[1] == first[1] and now[0][2] != first[0][2] and now[2][1] != first[2][1]
    assert conn.execute(
        "SELECT order_id, line_count, total::text, (SELECT array_agg(sku ORDER BY line_number)"
        " FROM raw.website_order_lines l WHERE l.order_id = o.order_id) FROM raw.website_orders o ORDER BY 1"
    ).fetchall() == [
        ("W1", 2, "42.75", ["SKU1", "SKU9"]),
        ("W2", 1, "42.75", ["SKU1"]),
        ("W3", 1, "50.00", ["SKU1"]),
    ]
    days = {d.isoformat() for _, d in logged()}
    assert days == {"2025-03-01", "2025-03-05"}


# Edge values: the fast path must either decline them or agree with the checked path.
EDGES = {
    "created_at": [
        "2025-03-01T14:05:00Z",
        "2025-03-01 14:05:00+01:00",
        "2025-03-01T14:05:00.123456+05:45",
        "2024-02-29T10:00:00+00:00",
        "2025-02-29T10:00:00+00:00",
        "2025-03-01T24:00:00+00:00",
        "2025-03-01T14:05:60+00:00",
        "2025-03-01T14:05:00+16:00",
        "2025-03-01T14:05:00",
        "0000-03-01T14:05:00+00:00",
    ],
    "unit_price": ["1e5", ".5", "5.", "0005.10", "1.2.3", "", "-1", "12345678901234567.123456"],
    "quantity": ["0", "00", "01", "1000000", " 1", "1.0"],
    "currency": ["usd", "US1", "EURO", "Eur"],
    "email": ["A@B", "a b@c", "a@@b", "ü@example.com", "@example.com", "Ann@Example.COM"],
    "accepts_marketing": ["YES", "maybe", "", "0", "N"],
    "shipping": ["", "0", "1,5"],
}


# Good values in shapes the fast path is meant to take.
FAST = {
    ("created_at", "2025-03-01T14:05:00Z"),
    ("created_at", "2025-03-01 14:05:00+01:00"),
    ("created_at", "2025-03-01T14:05:00.123456+05:45"),
    ("created_at", "2024-02-29T10:00:00+00:00"),
    ("unit_price", "0005.10"),
    ("unit_price", "12345678901234567.123456"),
    ("quantity", "01"),
    ("currency", "usd"),
    ("currency", "Eur"),
    ("email", "A@B"),
    ("email", "Ann@Example.COM"),
    ("accepts_marketing", "YES"),
    ("accepts_marketing", ""),
    ("accepts_marketing", "N"),
    ("accepts_marketing", "0"),
    ("shipping", ""),
    ("shipping", "0"),
}


@pytest.mark.parametrize(("field", "value"), [(f, v) for f, vs in EDGES.items() for v in vs])
def test_edge_values_fast_path_agrees_with_checked_path(conn, tmp_path, monkeypatch, field, value):
    path = tmp_path / "edge.csv"
    write_orders_csv(
        path, [csv_row("W1"), csv_row("W2", **{field: value}), csv_row("W2", sku="SKU2", **{field: value})]
    )
    fast, fast_rows = outcome(conn, path, monkeypatch, checked=False)
    checked, checked_rows = outcome(conn, path, monkeypatch, checked=True)
    assert (fast[0] == "fast") == ((field, value) in FAST), fast
    if fast[0] == "fast":
        assert checked[0] == "checked" and fast[1] == checked[1] and fast_rows == checked_rows
    else:
        assert fast == checked if fast[0] == "rejected" else fast_rows == checked_rows


def test_an_order_the_checked_path_rewrote_is_compared_by_value_on_the_next_fast_import(
    conn, tmp_path, monkeypatch
):
    path = tmp_path / "orders.csv"
    write_orders_csv(path, [csv_row("W1"), csv_row("W2")])
    assert import_csv(conn, path).checked_because is None
    write_orders_csv(path, [csv_row("W1", total="50.00"), csv_row("W2")])
    with monkeypatch.context() as patch:
        patch.setattr(csv_direct, "import_file", _checked_only)
        assert import_csv(conn, path).checked_because
    # Had the checked path kept W1's digest, it would match this file and W1 would keep 50.00.
    write_orders_csv(path, [csv_row("W1"), csv_row("W2")])
    assert import_csv(conn, path).checked_because is None
    totals = conn.execute("SELECT order_id, total::text FROM raw.website_orders ORDER BY 1").fetchall()
    assert totals == [("W1", "42.75"), ("W2", "42.75")]
