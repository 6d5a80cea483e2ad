"""Shared pieces of the loader tests (no tests here): a TikTok Shop line, and what the change log
recorded since a mark."""

from datetime import date

from marketing_pipeline.sources.tiktok_shop.assets import LINE_COLUMNS, LINES_TABLE


def mark(conn):
    """Log rows written after this are the ones ``logged`` returns."""
    conn.execute("INSERT INTO marts.changed_days (tbl, day) VALUES ('mark', '2000-01-01')")


def logged(conn, table):
    """The days logged for ``table`` since the mark ('infinity', the whole table, as text)."""
    return [
        date.fromisoformat(d) if d != "infinity" else d
        for (d,) in conn.execute(
            "SELECT DISTINCT day::text FROM marts.changed_days WHERE tbl = %s AND xact >"
            " (SELECT coalesce(max(xact), '0'::xid8) FROM marts.changed_days WHERE tbl = 'mark') ORDER BY 1",
            (table,),
        )
    ]


def log_rows(conn, table):
    return conn.execute("SELECT count(*) FROM marts.changed_days WHERE tbl = %s", (table,)).fetchone()[0]


def line(i: int, day: date) -> tuple:
    values = {c: "x" for c in LINE_COLUMNS}
    values |= {"order_id": f"O{i}", "line_item_id": f"L{i}", "sku_id": "S1", "partition_date": day}
    values |= {c: 1 for c in ("sale_price", "original_price", "seller_discount", "platform_discount")}
    values |= {"currency": "USD", "payload": "{}"}
    return tuple(values[c] for c in LINE_COLUMNS)


def hand_written_insert(conn, row):
    placeholders = ", ".join(["%s"] * len(LINE_COLUMNS))
    conn.execute(f"INSERT INTO {LINES_TABLE} ({', '.join(LINE_COLUMNS)}) VALUES ({placeholders})", row)


def whole(conn, table) -> bool:
    """Whether the table was logged as changed as a whole since the mark."""
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM marts.changed_days WHERE tbl = %s AND day = 'infinity' AND xact >"
        " (SELECT coalesce(max(xact), '0'::xid8) FROM marts.changed_days WHERE tbl = 'mark'))",
        (table,),
    ).fetchone()[0]
