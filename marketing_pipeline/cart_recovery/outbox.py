"""The recovery outbox: the state machine that makes every (cart, step) email go out at most once.

requested (sensor) -> claimed (job, committed before the send) -> sent | unknown | failed,
or skipped when an exit rule holds. Only a ``requested`` row (or no row) can be claimed, so a
retried or duplicated run finds the row claimed and sends nothing.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

_CLAIM = """
INSERT INTO ops.recovery_outbox (cart_id, step, status, claimed_at, run_id)
VALUES (%(cart_id)s, %(step)s, 'claimed', %(now)s, %(run_id)s)
ON CONFLICT (cart_id, step) DO UPDATE SET status = 'claimed', claimed_at = %(now)s, run_id = %(run_id)s
  WHERE ops.recovery_outbox.status = 'requested'
RETURNING id
"""


def claim(conn: psycopg.Connection, cart_id: str, step: int, run_id: str, now: datetime) -> int | None:
    """The outbox id when this run now owns the step; None when another run already took it."""
    row = conn.execute(_CLAIM, {"cart_id": cart_id, "step": step, "now": now, "run_id": run_id}).fetchone()
    return row[0] if row else None


def current(conn: psycopg.Connection, cart_id: str, step: int) -> tuple[int, str, str | None]:
    return conn.execute(
        "SELECT id, status, run_id FROM ops.recovery_outbox WHERE cart_id = %s AND step = %s", (cart_id, step)
    ).fetchone()


def finish(
    conn: psycopg.Connection,
    outbox_id: int,
    status: str,
    *,
    email: str | None = None,
    sent_at: datetime | None = None,
    message_id: str | None = None,
    detail: str | None = None,
) -> None:
    conn.execute(
        "UPDATE ops.recovery_outbox SET status = %s, email = coalesce(%s, email), sent_at = %s, message_id = %s,"
        " detail = %s WHERE id = %s",
        (status, email, sent_at, message_id, detail[:2000] if detail else None, outbox_id),
    )


def flag_stranded_claim(conn: psycopg.Connection, outbox_id: int, by_run: str | None) -> None:
    """A claim whose run died before recording the outcome: it may have been sent, so never again."""
    conn.execute(
        "UPDATE ops.recovery_outbox SET status = 'unknown', detail = %s WHERE id = %s AND status = 'claimed'",
        (f"claimed by run {by_run} which did not record an outcome; not re-sent", outbox_id),
    )
