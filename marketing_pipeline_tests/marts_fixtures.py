"""Hand-built raw rows for the marts tests: just the columns the core SQL reads."""

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
