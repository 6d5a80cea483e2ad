"""One recovery step for one cart: claim, check the exit rules, render, send, record."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import dict_row

from marketing_pipeline.cart_recovery import exit_rules, links, outbox
from marketing_pipeline.cart_recovery.emails import render
from marketing_pipeline.cart_recovery.senders import Sender, message_data
from marketing_pipeline.http import SendOutcomeUnknown, VendorError
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.warehouse import connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | skipped | unknown | failed | already_<status>
    detail: str | None = None
    message_id: str | None = None


def target_url(policy: RecoveryPolicy, cart: dict) -> str:
    if cart["channel"] == "tiktok_shop" and cart["product_url"]:
        return cart["product_url"]
    return f"{policy.store_url.rstrip('/')}/cart/restore/{cart['cart_id']}"


def discount_code() -> str:
    return f"BACK-{secrets.token_hex(5).upper()}"


def process_step(
    url: str,
    sender: Sender,
    policy: RecoveryPolicy,
    cart_id: str,
    step_number: int,
    now: datetime,
    run_id: str,
) -> Outcome:
    step = policy.step(step_number)
    with connect(url, autocommit=True) as conn:
        outbox_id = outbox.claim(conn, cart_id, step.number, run_id, now)
        if outbox_id is None:
            existing_id, status, by_run = outbox.current(conn, cart_id, step.number)
            if status == "claimed" and by_run != run_id:
                outbox.flag_stranded_claim(conn, existing_id, by_run)
                return Outcome("already_unknown", f"claimed by run {by_run}; not re-sent")
            return Outcome(f"already_{status}")
        # From here on the step is ours and can never be sent by anyone else.
        dicts = conn.cursor(row_factory=dict_row)
        cart = dicts.execute("SELECT * FROM ops.carts WHERE cart_id = %s", (cart_id,)).fetchone()
        reason = (
            "unknown_cart" if cart is None else exit_rules.exit_reason(conn, cart, step.number, policy, now)
        )
        if reason:
            with conn.transaction():
                outbox.finish(conn, outbox_id, "skipped", detail=reason)
                conn.execute(
                    "UPDATE ops.carts SET recovery_ended_at = %s, recovery_exit_reason = %s"
                    " WHERE cart_id = %s AND recovery_ended_at IS NULL",
                    (now, reason, cart_id),
                )
            return Outcome("skipped", reason)
        items = dicts.execute(
            "SELECT * FROM ops.cart_items WHERE cart_id = %s ORDER BY unit_price DESC, sku_id", (cart_id,)
        ).fetchall()
        with conn.transaction():
            code = discount_code() if step.discount_percent else None
            recover = links.create_link(
                conn,
                "recover",
                cart_id,
                step.number,
                cart["email"],
                target_url(policy, cart),
                now,
                policy.link_ttl,
            )
            unsub = links.create_link(
                conn, "unsubscribe", cart_id, step.number, cart["email"], None, now, None
            )
            conn.execute(
                "UPDATE ops.recovery_outbox SET email = %s, discount_code = %s, discount_percent = %s"
                " WHERE id = %s",
                (cart["email"], code, step.discount_percent if code else None, outbox_id),
            )
        base = policy.public_url.rstrip("/")
        recover_url, unsub_url = f"{base}/r/{recover}", f"{base}/u/{unsub}"
        email = render(policy, step, cart, items, recover_url, unsub_url, code)
        data = message_data(policy, step, cart, items, recover_url, unsub_url, code)
        try:
            message_id = sender.send(email, data, policy, cart_id, step)
        except SendOutcomeUnknown as exc:
            outbox.finish(conn, outbox_id, "unknown", detail=str(exc))
            return Outcome("unknown", str(exc))
        except VendorError as exc:
            outbox.finish(conn, outbox_id, "failed", detail=str(exc))
            return Outcome("failed", str(exc))
        outbox.finish(conn, outbox_id, "sent", sent_at=now, message_id=message_id)
        return Outcome("sent", message_id=message_id)
