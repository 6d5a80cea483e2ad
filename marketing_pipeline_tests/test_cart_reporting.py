"""marts.cart_recovery_daily from a small known history: who was recovered, by which step, with or without a click."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg

from marketing_pipeline.cart_recovery.reporting import cart_recovery_daily, refresh
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.warehouse import WarehouseResource

T = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def cart(conn, cart_id, email, channel="website", abandoned=True, converted_at=None, order_total=None):
    conn.execute(
        "INSERT INTO ops.carts (cart_id, channel, email, item_count, subtotal, created_at, last_activity_at,"
        " abandoned_at, converted_at, order_id, order_total) VALUES (%s, %s, %s, 1, 30, %s, %s, %s, %s, %s, %s)",
        (
            cart_id,
            channel,
            email,
            T,
            T,
            T if abandoned and email else None,
            converted_at,
            f"O-{cart_id}" if converted_at else None,
            order_total,
        ),
    )


def sent(conn, cart_id, step, hours):
    conn.execute(
        "INSERT INTO ops.recovery_outbox (cart_id, step, email, status, claimed_at, sent_at)"
        " VALUES (%s, %s, 'x', 'sent', %s, %s)",
        (cart_id, step, T + timedelta(hours=hours), T + timedelta(hours=hours)),
    )


def test_recovery_is_credited_to_the_last_email_before_the_first_order(conn):
    cart(conn, "a", "a@example.com")  # step 1, click, order 2 h later
    sent(conn, "a", 1, 0.5)
    conn.execute(
        "INSERT INTO ops.recovery_clicks (token_hash, cart_id, step, clicked_at) VALUES ('h', 'a', 1, %s)",
        (T + timedelta(hours=1),),
    )
    cart(
        conn,
        "a-order",
        "a@example.com",
        abandoned=False,
        converted_at=T + timedelta(hours=2.5),
        order_total=80,
    )
    cart(conn, "b", "b@example.com")  # steps 1, 2; orders on the website
    sent(conn, "b", 1, 0.5)
    sent(conn, "b", 2, 24)
    conn.execute(
        "INSERT INTO raw.website_orders (order_id, email, created_at, currency, subtotal, discount, shipping,"
        " tax, total, line_count, source, payload, partition_date) VALUES ('W-b', 'b@example.com', %s, 'USD',"
        " 50, 0, 0, 0, 50, 1, 'csv:x', '{}', %s)",
        (T + timedelta(hours=30), T.date()),
    )
    cart(conn, "c", "c@example.com", channel="tiktok_shop")  # orders after the window
    sent(conn, "c", 1, 0.5)
    cart(
        conn, "c-order", "c@example.com", abandoned=False, converted_at=T + timedelta(days=9), order_total=70
    )
    cart(conn, "d", None)  # no email: abandoned, never emailed
    with conn.transaction():
        refresh(conn, RecoveryPolicy(), T + timedelta(days=10))
    rows = {
        (r[0], r[1]): r[2:]
        for r in conn.execute(
            "SELECT channel, step, carts_abandoned, carts_emailable, emails_sent, carts_clicked, recovered_carts,"
            " recovered_after_click, recovered_without_click, recovered_revenue, recovery_rate FROM marts.cart_recovery_daily"
            " WHERE day = %s",
            (T.date(),),
        )
    }
    assert rows[("website", 0)] == (3, 2, 3, 1, 2, 1, 1, 130, Decimal("0.6667"))
    assert rows[("website", 1)] == (2, 2, 2, 1, 1, 1, 0, 80, 0.5)
    assert rows[("website", 2)] == (1, 1, 1, 0, 1, 0, 1, 50, 1)
    assert rows[("tiktok_shop", 0)] == (1, 1, 1, 0, 0, 0, 0, 0, 0)
    assert rows[("tiktok_shop", 1)] == (1, 1, 1, 0, 0, 0, 0, 0, 0)
    assert len(rows) == 5


def test_the_asset_rebuilds_the_table_identically(warehouse_url, conn):
    cart(conn, "a", "a@example.com")
    sent(conn, "a", 1, 0.5)
    run = dict(resources={"warehouse": WarehouseResource()}, partition_key=DEFAULT_ID)  # the one brand
    assert dg.materialize([cart_recovery_daily], **run).success
    first = conn.execute("SELECT * FROM marts.cart_recovery_daily ORDER BY 1, 2, 3").fetchall()
    assert first and dg.materialize([cart_recovery_daily], **run).success
    assert conn.execute("SELECT * FROM marts.cart_recovery_daily ORDER BY 1, 2, 3").fetchall() == first
