"""Hand-built raw rows for the marts tests (just the columns the core SQL reads), a history of every
source, and the model's tables as rows to compare."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg

from marketing_pipeline.marts import sqlfiles
from marketing_pipeline.marts.rebuild import rebuild
from marketing_pipeline.settings import marts as config
from marketing_pipeline.warehouse import ChangeLog

UTC = UTC


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


@contextmanager
def as_a_loader(conn: psycopg.Connection, *tables: str) -> Iterator[ChangeLog]:
    """Hand-written writes to the order tables that log their days as the loaders do (migration 220):
    without it, such a write logs its whole table as changed and the next refresh is a full one."""
    with conn.transaction(), ChangeLog(conn, *tables) as log:
        yield log


def logged_statement(conn: psycopg.Connection, table: str, statement: str, params: tuple = ()) -> None:
    """An UPDATE or DELETE of an order table that logs the days of the rows it touches, as a loader
    would (it must not move a row to another day: the day logged is the row's after the statement)."""
    with as_a_loader(conn, table) as log:
        log.add(table, [d for (d,) in conn.execute(f"{statement} RETURNING partition_date", params)])


def tiktok_order(
    conn: psycopg.Connection,
    order_id: str,
    *,
    user: str,
    email: str | None,
    phone: str | None,
    created: datetime,
    total: str = "50.00",
    status: str = "COMPLETED",
    cancelled_lines: tuple[str, ...] = (),
) -> None:
    payload = {"recipient_address": {"phone_number": phone}} if phone else {}
    with as_a_loader(conn, "raw.tiktok_shop_orders", "raw.tiktok_shop_order_lines") as log:
        log.add("raw.tiktok_shop_orders", [created.date()])
        log.add("raw.tiktok_shop_order_lines", [created.date()])
        _tiktok_order(conn, order_id, user, email, created, total, status, cancelled_lines, payload)


def _tiktok_order(conn, order_id, user, email, created, total, status, cancelled_lines, payload) -> None:
    conn.execute(
        "INSERT INTO raw.tiktok_shop_orders (order_id, status, buyer_user_id, buyer_email, currency, shipping_fee,"
        " seller_discount, platform_discount, tax, total_amount, line_count, created_at, updated_at, payload,"
        " partition_date) VALUES (%s, %s, %s, %s, 'USD', 0, 0, 0, 0, %s, 1, %s, %s, %s, %s)",
        (
            order_id,
            status,
            user,
            email,
            Decimal(total),
            created,
            created,
            json.dumps(payload),
            created.date(),
        ),
    )
    lines = [("L1", Decimal(total) - sum(Decimal(p) for p in cancelled_lines), status)]
    lines += [(f"C{i}", Decimal(p), "CANCELLED") for i, p in enumerate(cancelled_lines)]
    for line_id, price, line_status in lines:
        conn.execute(
            "INSERT INTO raw.tiktok_shop_order_lines (order_id, line_item_id, sku_id, product_id, sale_price,"
            " original_price, seller_discount, platform_discount, display_status, payload, partition_date)"
            " VALUES (%s, %s, 'sku', 'p', %s, %s, 0, 0, %s, '{}', %s)",
            (order_id, line_id, price, price, line_status, created.date()),
        )


def website_order(
    conn: psycopg.Connection,
    order_id: str,
    *,
    email: str,
    created: datetime,
    total: str = "50.00",
    utm: tuple[str | None, str | None, str | None] = (None, None, None),
    payload: dict | None = None,
    accepts_marketing: bool | None = None,
) -> None:
    with as_a_loader(conn, "raw.website_orders", "raw.website_order_lines") as log:
        log.add("raw.website_orders", [created.date()])
        log.add("raw.website_order_lines", [created.date()])
        _website_order(conn, order_id, email, created, total, utm, payload, accepts_marketing)


def _website_order(conn, order_id, email, created, total, utm, payload, accepts_marketing) -> None:
    conn.execute(
        "INSERT INTO raw.website_orders (order_id, email, created_at, currency, subtotal, discount, shipping, tax,"
        " total, utm_source, utm_medium, utm_campaign, accepts_marketing, line_count, source, payload, partition_date)"
        " VALUES (%s, %s, %s, 'USD', %s, 0, 0, 0, %s, %s, %s, %s, %s, 1, 'test', %s, %s)",
        (
            order_id,
            email,
            created,
            Decimal(total),
            Decimal(total),
            *utm,
            accepts_marketing,
            json.dumps(payload or {}),
            created.date(),
        ),
    )
    conn.execute(
        "INSERT INTO raw.website_order_lines (order_id, line_number, sku, quantity, unit_price, discount, currency,"
        " partition_date) VALUES (%s, 1, 'sku', 1, %s, 0, 'USD', %s)",
        (order_id, Decimal(total), created.date()),
    )


def cio_click(
    conn: psycopg.Connection,
    delivery_id: str,
    *,
    email: str,
    clicked: datetime,
    newsletter: int | None = 1,
    campaign: int | None = None,
) -> None:
    conn.execute(
        "INSERT INTO raw.customerio_deliveries (delivery_id, customer_id, email, state, campaign_id, newsletter_id,"
        " created_at, sent_at, delivered_at, clicked_at, payload, partition_date)"
        " VALUES (%s, %s, %s, 'clicked', %s, %s, %s, %s, %s, %s, '{}', %s)",
        (
            delivery_id,
            "cio-" + email,
            email,
            campaign,
            newsletter,
            clicked - timedelta(hours=1),
            clicked - timedelta(hours=1),
            clicked - timedelta(minutes=59),
            clicked,
            clicked.date(),
        ),
    )


def build(
    conn: psycopg.Connection,
    first: date,
    last: date,
    segments_from: date | None = None,
    *,
    full: bool = False,
) -> None:
    with conn.transaction():
        rebuild(conn, first, last, segments_from=segments_from, full=full)


def build_one(conn: psycopg.Connection, target: str) -> None:
    with conn.transaction():
        sqlfiles.apply_settings(conn, config.gucs())
        sqlfiles.build(conn, target)


def customer_of(conn: psycopg.Connection, order_key: str) -> str:
    return conn.execute("SELECT customer_id FROM core.orders WHERE order_key = %s", (order_key,)).fetchone()[
        0
    ]


# A history of every source, every third day from FIRST to LAST, and every core and mart table as rows.
FIRST = date(2025, 3, 1)
LAST = date(2025, 6, 20)
SKIP_COLUMNS = {("core", "customer_keys", "added_at")}  # when the key was written, not what it says


def ga4_traffic(conn, day: date, source: str, sessions: int) -> None:
    conn.execute(
        "INSERT INTO raw.ga4_traffic_daily (property_id, report_date, session_source, session_medium,"
        " session_campaign_name, sessions, add_to_carts, checkouts, is_other, payload, partition_date)"
        " VALUES ('1', %s, %s, 'cpc', '(not set)', %s, 3, 1, false, '{}', %s)",
        (day, source, sessions, day),
    )


def content_day(conn, video: str, day: date, views: int) -> None:
    conn.execute(
        "INSERT INTO raw.tiktok_content_daily (video_id, content_date, views, likes, comments, shares,"
        " product_clicks, payload, partition_date) VALUES (%s, %s, %s, 30, 2, 1, 7, '{}', %s)",
        (video, day, views, day),
    )


def cart_row(conn, cart_id: str, channel: str, created, checkout: bool) -> None:
    conn.execute(
        "INSERT INTO ops.carts (cart_id, channel, item_count, subtotal, created_at, last_activity_at,"
        " checkout_started_at) VALUES (%s, %s, 1, 30, %s, %s, %s)",
        (cart_id, channel, created, created, created + timedelta(minutes=5) if checkout else None),
    )


def seed_history(conn) -> None:
    day = FIRST
    k = 0
    while day <= LAST:
        for c in range(1 + k % 3):
            person = (k * 7 + c) % 11
            website_order(
                conn,
                f"W{k}-{c}",
                email=f"p{person}@example.com",
                created=at(day, 9 + c),
                total=f"{20 + (k * 13 + c) % 90}.00",
                utm=("klaviyo", "email", "spring") if person % 3 == 0 else (None, None, None),
                # names: both parts, only a first name, or none
                payload=[{"first_name": f"F{k}", "last_name": f"L{k}"}, {"first_name": f"G{k}"}, {}][c],
            )
        if k % 4 == 0:
            tiktok_order(
                conn, f"T{k}", user=f"u{k % 5}", email=None, phone=f"+1415555{k % 5:04d}", created=at(day, 14)
            )
        if k % 5 == 0:
            cio_click(conn, f"d{k}", email=f"p{k % 11}@example.com", clicked=at(day, 8))
        if k % 2 == 0:
            ga4_traffic(conn, day, "google", 100 + k)
        if k % 3 == 0:
            content_day(conn, f"v{k % 4}", day, 1000 + k)
        cart_row(conn, f"c{k}", ("website", "tiktok_shop")[k % 2], at(day, 10), checkout=k % 3 == 0)
        day += timedelta(days=3)
        k += 1


def model_tables(conn, segment_days: tuple[date, date]) -> dict[str, list[tuple]]:
    names = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema IN ('core', 'marts') AND table_type = 'BASE TABLE'"
        " AND NOT EXISTS (SELECT 1 FROM pg_inherits i"  # a partition: compared in its parent
        " WHERE i.inhrelid = format('%I.%I', table_schema, table_name)::regclass)"
        " AND table_name NOT IN ('rfm_snapshots', 'changed_days', 'refresh_state')"
        " AND table_name NOT LIKE 'customer_segment\\_%'"  # compared through the view
        " UNION ALL SELECT 'marts', 'rfm'"  # the view: scores with their date and recency
        " UNION ALL SELECT 'marts', 'customer_segments' ORDER BY 1, 2"  # the view: one row per person and day
    ).fetchall()
    out = {}
    for schema, table in names:
        cols = [
            c
            for (c,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
                " ORDER BY ordinal_position",
                (schema, table),
            )
            if (schema, table, c) not in SKIP_COLUMNS
        ]
        select = ", ".join(f'"{c}"' for c in cols)
        where = "WHERE as_of BETWEEN %s AND %s" if table == "customer_segments" else ""
        out[f"{schema}.{table}"] = sorted(
            conn.execute(
                f'SELECT {select} FROM "{schema}"."{table}" {where}',  # noqa: S608 (catalog names)
                segment_days if where else None,
            ).fetchall(),
            key=repr,
        )
    return out
