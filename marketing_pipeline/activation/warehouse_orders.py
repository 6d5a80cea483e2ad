"""Where activation reads orders from: every raw order table that exists, in one shape.

The syncs read two session views, ``pg_temp.activation_orders`` and
``pg_temp.activation_order_lines``, built by ``create_views`` from the sources below whose
tables exist in this warehouse (``to_regclass``): TikTok Shop buyers (``raw.tiktok_shop_orders``,
names from the recipient address in the payload) and website buyers (``raw.website_orders``).
A source whose table is missing is left out and named in ``missing``. When the modelled
``core.orders`` lands, it becomes one more (or the only) entry here; nothing else changes.

Order shape: order_id, channel, email (normalised), first_name, last_name, tiktok_user_id,
value, currency, created_at, placed (paid and not cancelled: what counts as a Placed Order).
Line shape: order_id, product_id, sku, product_name, variant, quantity, unit_price.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class OrderSource:
    name: str
    orders_table: str
    lines_table: str
    orders_sql: str
    lines_sql: str


SOURCES = (
    OrderSource(
        name="tiktok_shop",
        orders_table="raw.tiktok_shop_orders",
        lines_table="raw.tiktok_shop_order_lines",
        orders_sql="""
            SELECT order_id, 'tiktok_shop'::text AS channel, lower(trim(buyer_email)) AS email,
                   nullif(trim(payload->'recipient_address'->>'first_name'), '') AS first_name,
                   nullif(trim(payload->'recipient_address'->>'last_name'), '') AS last_name,
                   buyer_user_id AS tiktok_user_id, total_amount AS value, currency, created_at,
                   (paid_at IS NOT NULL AND status <> 'CANCELLED') AS placed
            FROM raw.tiktok_shop_orders
            WHERE buyer_email LIKE '%@%'""",
        # TikTok lists one line item per unit sold: group them back into quantities.
        lines_sql="""
            SELECT order_id, product_id, sku_id AS sku, product_name, sku_name AS variant,
                   count(*)::int AS quantity, min(sale_price) AS unit_price
            FROM raw.tiktok_shop_order_lines
            GROUP BY order_id, product_id, sku_id, product_name, sku_name""",
    ),
    OrderSource(
        name="website",
        orders_table="raw.website_orders",
        lines_table="raw.website_order_lines",
        orders_sql="""
            SELECT order_id, channel, lower(trim(email)) AS email,
                   nullif(trim(payload->>'first_name'), '') AS first_name,
                   nullif(trim(payload->>'last_name'), '') AS last_name,
                   NULL::text AS tiktok_user_id, total AS value, currency, created_at, true AS placed
            FROM raw.website_orders
            WHERE email LIKE '%@%'""",
        lines_sql="""
            SELECT order_id, product_id, sku, product_name, variant, quantity,
                   round(unit_price - discount / quantity, 2) AS unit_price
            FROM raw.website_order_lines""",
    ),
)

EMPTY_ORDERS = (
    "SELECT NULL::text AS order_id, NULL::text AS channel, NULL::text AS email, NULL::text AS first_name,"
    " NULL::text AS last_name, NULL::text AS tiktok_user_id, NULL::numeric AS value,"
    " NULL::text AS currency, NULL::timestamptz AS created_at, NULL::boolean AS placed WHERE false"
)
EMPTY_LINES = (
    "SELECT NULL::text AS order_id, NULL::text AS product_id, NULL::text AS sku,"
    " NULL::text AS product_name, NULL::text AS variant, NULL::int AS quantity,"
    " NULL::numeric AS unit_price WHERE false"
)


def available(conn: psycopg.Connection) -> tuple[list[OrderSource], list[str]]:
    """The sources whose tables exist, and the names of those that do not."""
    present, missing = [], []
    for source in SOURCES:
        found = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL",
            (source.orders_table, source.lines_table),
        ).fetchone()[0]
        (present if found else missing).append(source if found else source.name)
    return present, missing


def create_views(conn: psycopg.Connection) -> list[str]:
    """(Re)create the session views over the available sources; returns the source names used."""
    present, _ = available(conn)
    orders = "\nUNION ALL\n".join(s.orders_sql for s in present) or EMPTY_ORDERS
    lines = "\nUNION ALL\n".join(s.lines_sql for s in present) or EMPTY_LINES
    conn.execute(f"CREATE OR REPLACE TEMP VIEW activation_orders AS {orders}")
    conn.execute(f"CREATE OR REPLACE TEMP VIEW activation_order_lines AS {lines}")
    return [s.name for s in present]
