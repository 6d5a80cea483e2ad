"""One recovery step for one cart: claim, check the exit rules, render, send, record.

Two session advisory locks make concurrent runs safe: one per (cart, step), held for the whole
step, so a duplicate run sees the step is in hand and reports ``duplicate`` (and a run that
finds a ``claimed`` row with nobody holding the lock knows its run died); one per address,
so two carts of one person never both pass the one-sequence-per-person cap.
Whatever goes wrong after the claim, the row leaves ``claimed``: ``failed`` before the send
(nothing went out), ``unknown`` during it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import psycopg
from psycopg.rows import dict_row

from marketing_pipeline.cart_recovery import discount_codes, exit_rules, links, outbox
from marketing_pipeline.cart_recovery.emails import render
from marketing_pipeline.cart_recovery.senders import Sender, message_data
from marketing_pipeline.http import VendorError
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.warehouse import connect

log = logging.getLogger(__name__)


_EMPTY = {"without_offer": "sent_without_offer", "skip": "skipped"}


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | skipped | unknown | failed | duplicate | already_<status>
    detail: str | None = None
    message_id: str | None = None
    offer: str | None = None  # offer step only: code | pool_empty_sent_without_offer | pool_empty_skipped


def target_url(policy: RecoveryPolicy, cart: dict) -> str:
    if cart["channel"] == "tiktok_shop" and policy.may_redirect_to(cart["product_url"]):
        return cart["product_url"]
    return f"{policy.store_url.rstrip('/')}/cart/restore/{quote(cart['cart_id'], safe='')}"


def _try_lock(conn: psycopg.Connection, key: str) -> bool:
    return conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()[0]


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
    with connect(url, autocommit=True) as conn:  # session locks go with the connection
        if not _try_lock(conn, f"ops.recovery_outbox:{cart_id}:{step.number}"):
            return Outcome("duplicate", "another run is processing this step; not sent twice")
        outbox_id = outbox.claim(conn, cart_id, step.number, run_id, now)
        if outbox_id is None:
            existing_id, status, by_run = outbox.current(conn, cart_id, step.number)
            if status == "claimed" and by_run != run_id:  # we hold the lock: its run is gone
                outbox.flag_stranded_claim(conn, existing_id, by_run)
                return Outcome("already_unknown", f"claimed by run {by_run}; not re-sent")
            return Outcome(f"already_{status}")
        # From here on the step is ours and can never be sent by anyone else.
        try:
            prepared = _prepare(conn, policy, step, cart_id, outbox_id, now)
        except Exception as exc:  # bad data or a bug: nothing was sent, the row must not stay claimed
            log.exception("cart %s step %s failed before sending", cart_id, step.number)
            with conn.transaction():  # nothing went out: a claimed code goes back to the pool
                outbox.finish(conn, outbox_id, "failed", detail=f"{type(exc).__name__}: {exc}")
                discount_codes.release(conn, outbox_id)
            return Outcome("failed", f"{type(exc).__name__}: {exc}")
        if isinstance(prepared, Outcome):
            return prepared
        (email, data), offer = prepared
        try:
            message_id = sender.send(email, data, policy, cart_id, step)
        except VendorError as exc:
            with conn.transaction():  # certainly not sent: the code goes back to the pool
                outbox.finish(conn, outbox_id, "failed", detail=str(exc))
                discount_codes.release(conn, outbox_id)
            return Outcome("failed", str(exc), offer=offer)
        except Exception as exc:  # SendOutcomeUnknown, or anything else mid-send: it may have gone out
            outbox.finish(conn, outbox_id, "unknown", detail=f"{type(exc).__name__}: {exc}")  # code kept
            return Outcome("unknown", str(exc), offer=offer)
        outbox.finish(conn, outbox_id, "sent", sent_at=now, message_id=message_id)
        return Outcome("sent", message_id=message_id, offer=offer)


def _prepare(
    conn: psycopg.Connection, policy: RecoveryPolicy, step, cart_id: str, outbox_id: int, now: datetime
) -> tuple[tuple, str | None] | Outcome:
    """The rendered email and the template data (for the configured sender), and the offer's state, or the skip Outcome when an exit rule holds."""
    dicts = conn.cursor(row_factory=dict_row)
    cart = dicts.execute("SELECT * FROM ops.carts WHERE cart_id = %s", (cart_id,)).fetchone()
    if cart is not None and cart["email"]:
        # one person's carts one at a time, so the cap check below sees the others' sends
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"ops.recovery_email:{cart['email']}",))
    reason = "unknown_cart" if cart is None else exit_rules.exit_reason(conn, cart, step.number, policy, now)
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
    offer = None
    with conn.transaction():
        # The code is bound to this outbox row in the transaction that records it there.
        code = discount_codes.claim(conn, outbox_id, cart_id, now) if step.discount_percent else None
        if step.discount_percent:
            offer = "code" if code else f"pool_empty_{_EMPTY[policy.empty_pool]}"
        if offer == "pool_empty_skipped":
            outbox.finish(conn, outbox_id, "skipped", detail="no_discount_code")
            conn.execute(
                "UPDATE ops.carts SET recovery_ended_at = %s, recovery_exit_reason = 'no_discount_code'"
                " WHERE cart_id = %s AND recovery_ended_at IS NULL",
                (now, cart_id),
            )
            return Outcome("skipped", "no_discount_code", offer=offer)
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
        unsub = links.create_link(conn, "unsubscribe", cart_id, step.number, cart["email"], None, now, None)
        # passed_rules_at: from now on the cap check of this person's other carts counts this step
        conn.execute(
            "UPDATE ops.recovery_outbox SET email = %s, discount_code = %s, discount_percent = %s,"
            " passed_rules_at = %s WHERE id = %s",
            (cart["email"], code, step.discount_percent if code else None, now, outbox_id),
        )
    # another brand's links name it: they resolve in its warehouse (web/recovery_links.py)
    base, brand = policy.public_url.rstrip("/"), policy.link_prefix
    recover_url, unsub_url = f"{base}/r{brand}/{recover}", f"{base}/u{brand}/{unsub}"
    email = render(policy, step, cart, items, recover_url, unsub_url, code)
    return (email, message_data(policy, step, cart, items, recover_url, unsub_url, code)), offer
