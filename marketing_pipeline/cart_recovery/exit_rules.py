"""Why a step must not be sent, checked again right before each send."""

from __future__ import annotations

from datetime import datetime

import psycopg

from marketing_pipeline.consent import may_subscribe, suppressed
from marketing_pipeline.settings.recovery import RecoveryPolicy

# Orders by the same person after the cart went idle: another converted cart (website or
# TikTok Shop webhook), a website order from any source, or a paid TikTok Shop order. A TikTok Shop
# order is stored under its brand-local creation day (migration 240), at most a day before its UTC
# date whatever the zone: the bound on partition_date reads only the days since, not every day's
# partition.
_ORDERED_SINCE = """
SELECT EXISTS (SELECT 1 FROM ops.carts o WHERE o.email = %(email)s AND o.converted_at > %(since)s)
    OR EXISTS (SELECT 1 FROM raw.website_orders w WHERE w.email = %(email)s AND w.created_at > %(since)s)
    OR EXISTS (SELECT 1 FROM raw.tiktok_shop_orders t WHERE lower(t.buyer_email) = %(email)s
               AND t.created_at > %(since)s AND t.status NOT IN ('UNPAID', 'CANCELLED')
               AND t.partition_date >= (%(since)s::timestamptz AT TIME ZONE 'UTC')::date - 1)
"""


def exit_reason(
    conn: psycopg.Connection, cart: dict, step: int, policy: RecoveryPolicy, now: datetime
) -> str | None:
    """None when the step may go out; otherwise the reason the sequence ends."""
    if cart["converted_at"] is not None:
        return "ordered"
    if not cart["email"]:
        return "no_email"
    if cart["item_count"] <= 0:
        return "emptied"
    if conn.execute(_ORDERED_SINCE, {"email": cart["email"], "since": cart["last_activity_at"]}).fetchone()[
        0
    ]:
        return "ordered"
    if suppressed(conn, [cart["email"]]):
        return "suppressed"
    if policy.require_consent and not may_subscribe(conn, [cart["email"]]):
        return "no_consent"
    if (
        step == policy.steps[0].number
        and conn.execute(
            # only steps that passed these rules count: other carts' claims still being checked
            # do not, or concurrent carts of one person would all skip (send.py serialises them)
            "SELECT EXISTS (SELECT 1 FROM ops.recovery_outbox WHERE email = %s AND cart_id <> %s"
            " AND status IN ('claimed', 'sent', 'unknown') AND passed_rules_at IS NOT NULL AND claimed_at > %s)",
            (cart["email"], cart["cart_id"], now - policy.cap_window),
        ).fetchone()[0]
    ):
        return "in_other_sequence"
    return None
