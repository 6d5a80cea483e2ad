"""Suppress, unsuppress and delete (GDPR) one person in Customer.io, recorded in the warehouse.

Suppress and delete also add the email to ``ops.suppressions`` so no sync identifies the person
again; unsuppress removes only the row a suppress made (unsubscribes, bounces and other sources stay).
"""

from __future__ import annotations

import psycopg

from marketing_pipeline import consent
from marketing_pipeline.activation.sync_history import SyncCounts, close_sync, open_sync
from marketing_pipeline.http import VendorError
from marketing_pipeline.sources.customerio.track import TrackClient

ACTIONS = ("suppress", "unsuppress", "delete")


def person_action(
    conn: psycopg.Connection,
    client: TrackClient,
    action: str,
    identifier: str,
    email: str | None = None,
    run_id: str | None = None,
) -> SyncCounts:
    """Apply one action; ``identifier`` is the Customer.io id or email, ``email`` the address to record."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
    email = consent.normalize_email(email or (identifier if "@" in identifier else None))
    history_id = open_sync(conn, "customerio", f"person_{action}", run_id)
    counts = SyncCounts()
    try:
        {"suppress": client.suppress, "unsuppress": client.unsuppress, "delete": client.delete}[action](
            identifier
        )
    except VendorError as exc:
        counts.fail(identifier, str(exc))
        close_sync(conn, history_id, counts)
        raise
    if email and action in ("suppress", "delete"):
        consent.suppress(conn, email, "customerio", "gdpr" if action == "delete" else "suppressed")
    elif email:
        conn.execute(
            "DELETE FROM ops.suppressions WHERE email = %s AND source = 'customerio'"
            " AND reason = 'suppressed'",
            (email,),
        )
    counts.sent = 1
    close_sync(conn, history_id, counts)
    return counts
