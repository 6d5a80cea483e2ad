"""``ops.shopper_event_outbox``: one row per (cart event, destination), claimed before it is sent.

A claimed row is never handed out again: a crash between claim and send leaves it ``claimed``
(visible, not re-sent) rather than risking a second copy.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

ENQUEUE_SQL = """
INSERT INTO ops.shopper_event_outbox (event_id, destination, status, detail)
SELECT e.event_id, %(destination)s,
       CASE WHEN sup.email IS NULL THEN 'pending' ELSE 'skipped' END,
       CASE WHEN sup.email IS NULL THEN NULL ELSE 'suppressed' END
FROM ops.cart_events e
JOIN ops.carts c ON c.cart_id = e.cart_id
LEFT JOIN LATERAL (SELECT s.email FROM ops.suppressions s WHERE s.email = c.email LIMIT 1) sup ON true
WHERE e.type = ANY(%(types)s)
  AND e.received_at >= %(since)s
  AND (NOT %(needs_email)s OR c.email IS NOT NULL)
ORDER BY e.id
ON CONFLICT (event_id, destination) DO NOTHING
"""


def enqueue(
    conn: psycopg.Connection, destination: str, types: tuple[str, ...], since: datetime, needs_email: bool
) -> int:
    """Queue the window's events of ``types`` not queued before; a suppressed person's are ``skipped``.

    ``needs_email``: the destination takes only identified people (Klaviyo), so an anonymous cart's
    events wait until its email is known (then they are sent with their original times).
    """
    cur = conn.execute(
        ENQUEUE_SQL,
        {"destination": destination, "types": list(types), "since": since, "needs_email": needs_email},
    )
    return cur.rowcount


def claim(conn: psycopg.Connection, destination: str, run_id: str | None, limit: int) -> list[int]:
    rows = conn.execute(
        "UPDATE ops.shopper_event_outbox SET status = 'claimed', claimed_at = now(), run_id = %s"
        " WHERE id IN (SELECT id FROM ops.shopper_event_outbox WHERE destination = %s AND status = 'pending'"
        "  ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
        (run_id, destination, limit),
    ).fetchall()
    return sorted(r[0] for r in rows)


def finish(conn: psycopg.Connection, ids: list[int], status: str, detail: str | None = None) -> None:
    conn.execute(
        "UPDATE ops.shopper_event_outbox SET status = %s, detail = %s,"
        " sent_at = CASE WHEN %s = 'sent' THEN now() END WHERE id = ANY(%s) AND status = 'claimed'",
        (status, detail[:1000] if detail else None, status, ids),
    )


def release(conn: psycopg.Connection, ids: list[int]) -> None:
    """Hand claimed rows back: only for sends that certainly did not happen or that the platform dedupes."""
    conn.execute(
        "UPDATE ops.shopper_event_outbox SET status = 'pending', claimed_at = NULL, run_id = NULL"
        " WHERE id = ANY(%s) AND status = 'claimed'",
        (ids,),
    )


def counts(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute(
        "SELECT destination || '_' || status, count(*) FROM ops.shopper_event_outbox GROUP BY 1"
    ).fetchall()
    return {k: v for k, v in rows}
