"""Migration 240: the TikTok Shop order tables' rows come through their partitioning by day."""

from datetime import date

import psycopg
import pytest

from marketing_pipeline.sources.tiktok_shop.assets import LINE_COLUMNS, LINES_TABLE, ORDERS_TABLE
from marketing_pipeline.warehouse import connect, migrate, replace_partitions
from marketing_pipeline.warehouse.migrate import MIGRATIONS_DIR
from marketing_pipeline_tests.conftest import database_before
from marketing_pipeline_tests.loader_support import line

BEFORE = "240"  # the migrations before this one make the database the rows were written into

ORDERS = f"""
INSERT INTO {ORDERS_TABLE} (order_id, status, buyer_user_id, buyer_email, currency, sub_total, shipping_fee,
    seller_discount, platform_discount, tax, total_amount, line_count, created_at, updated_at, paid_at, payload,
    partition_date, _run_id)
SELECT 'T' || i, 'COMPLETED', 'u' || i, 'b' || i || '@example.com', 'USD', 10, 0, 0, 0, 0, 10, 1,
       d + time '12:00', d + time '13:00', NULL, '{{"id": 1}}', d, 'run'
FROM generate_series(1, 6) i, LATERAL (SELECT date '2026-03-01' + i % 3 AS d) AS day
"""
LINES = f"""
INSERT INTO {LINES_TABLE} (order_id, line_item_id, sku_id, product_id, sale_price, original_price, seller_discount,
    platform_discount, currency, payload, partition_date)
SELECT order_id, 'L' || n, 'S', 'P', 5, 5, 0, 0, 'USD', '{{}}', partition_date
FROM {ORDERS_TABLE}, generate_series(1, 2) n
"""


@pytest.fixture
def old_database(pg_server_url, tmp_path):
    """A database migrated up to migration 240 (not included)."""
    with database_before(pg_server_url, BEFORE, tmp_path) as url:
        yield url


def _rows(conn, table):
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def _columns(conn, table):
    return conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull, pg_get_expr(d.adbin, d.adrelid)"
        " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (table,),
    ).fetchall()


def test_rows_stored_before_240_come_through_it_one_partition_per_day(old_database):
    url = old_database
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ORDERS)
        conn.execute(LINES)
        before = {t: (_rows(conn, t), _columns(conn, t)) for t in (ORDERS_TABLE, LINES_TABLE)}
        assert len(before[LINES_TABLE][0]) == 12
    assert migrate(url) == [p.stem for p in sorted(MIGRATIONS_DIR.glob("*.sql")) if p.stem >= BEFORE]
    with psycopg.connect(url, autocommit=True) as conn:
        for table in (ORDERS_TABLE, LINES_TABLE):
            assert (_rows(conn, table), _columns(conn, table)) == before[table], table
            where = conn.execute(
                f"SELECT DISTINCT tableoid::regclass::text, partition_date FROM {table} ORDER BY 2"
            ).fetchall()
            assert where == [(f"{table}_d2026030{i}", date(2026, 3, i)) for i in (1, 2, 3)]
            assert conn.execute(f"SELECT count(*) FROM {table}_default").fetchone() == (0,)
            assert conn.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY 1",
                (table,),
            ).fetchall() == [("marts_log_trunc",), ("marts_log_whole",)]
        assert conn.execute("SELECT to_regclass('raw.tiktok_shop_orders_unpartitioned')").fetchone() == (
            None,
        )
    # The loader replaces a carried-over day as any other.
    with connect(url) as c:
        replace_partitions(c, LINES_TABLE, LINE_COLUMNS, [line(1, date(2026, 3, 2))], [date(2026, 3, 2)])
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute(
            f"SELECT partition_date, count(*) FROM {LINES_TABLE} GROUP BY 1 ORDER BY 1"
        ).fetchall() == [(date(2026, 3, 1), 4), (date(2026, 3, 2), 1), (date(2026, 3, 3), 4)]
