"""Consent travels: a suppression recorded from any source is pushed to every other platform.

``ops.suppressions`` gathers unsubscribes, bounces, spam reports and GDPR deletes from Klaviyo,
Customer.io, SendGrid and the recovery links. Each platform gets every suppressed email it did not
report itself, once (``ops.consent_pushes`` remembers each email and platform):

- Klaviyo: email marketing unsubscribe (``profile-subscription-bulk-delete-jobs``, 100 per call).
  Without a list relationship this is a global unsubscribe; the list sync then removes the person
  from every synced list (suppressed people are members of none).
- Customer.io: ``unsubscribed: true`` on the person (identify); a GDPR delete is a suppression,
  so the person is never re-added.
- SendGrid: the global unsubscribe group (``POST /v3/asm/suppressions/global``).

One ``ops.sync_history`` row per platform (sync ``consent``). Platform order does not matter:
each has its own ledger rows, so a failure on one is retried next run without re-pushing the others.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from marketing_pipeline.activation.klaviyo import limits
from marketing_pipeline.activation.sync_history import SyncCounts, recorded_sync

PLATFORMS = ("klaviyo", "customerio", "sendgrid")

# Emails suppressed by a source other than the platform itself and not yet pushed there.
PENDING_SQL = """
SELECT s.email,
       CASE WHEN bool_or(s.reason = 'gdpr') THEN 'gdpr' ELSE 'unsubscribed' END AS reason,
       array_agg(DISTINCT s.source ORDER BY s.source) AS sources
FROM ops.suppressions s
WHERE NOT EXISTS (SELECT 1 FROM ops.consent_pushes p WHERE p.email = s.email AND p.platform = %(platform)s)
GROUP BY s.email
HAVING NOT bool_or(s.source = %(platform)s)
ORDER BY s.email
"""


def pending(conn: psycopg.Connection, platform: str) -> list[tuple[str, str, list[str]]]:
    return conn.execute(PENDING_SQL, {"platform": platform}).fetchall()


def _record(conn: psycopg.Connection, platform: str, rows, run_id: str | None) -> None:
    with conn.transaction():
        for email, reason, sources in rows:
            conn.execute(
                "INSERT INTO ops.consent_pushes (email, platform, reason, sources, run_id)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (email, platform, reason, sources, run_id),
            )


def klaviyo_unsubscribe_body(emails: list[str]) -> dict:
    return {
        "data": {
            "type": "profile-subscription-bulk-delete-job",
            "attributes": {
                "profiles": {
                    "data": [
                        {
                            "type": "profile",
                            "attributes": {
                                "email": email,
                                "subscriptions": {"email": {"marketing": {"consent": "UNSUBSCRIBED"}}},
                            },
                        }
                        for email in emails
                    ]
                }
            },
        }
    }


def push_klaviyo(conn: psycopg.Connection, client, counts: SyncCounts, run_id: str | None) -> None:
    rows = pending(conn, "klaviyo")
    for start in range(0, len(rows), limits.MAX_UNSUBSCRIBE_PER_CALL):
        batch = rows[start : start + limits.MAX_UNSUBSCRIBE_PER_CALL]
        client.jsonapi(
            "POST",
            "/api/profile-subscription-bulk-delete-jobs",
            json=klaviyo_unsubscribe_body([r[0] for r in batch]),
        )
        # Forget the subscription we made, so the record matches Klaviyo's state.
        conn.execute("DELETE FROM ops.klaviyo_subscriptions WHERE email = ANY(%s)", ([r[0] for r in batch],))
        _record(conn, "klaviyo", batch, run_id)
        counts.sent += len(batch)
        counts.updated += len(batch)


def push_customerio(conn: psycopg.Connection, client, counts: SyncCounts, run_id: str | None) -> None:
    for row in pending(conn, "customerio"):
        email, reason, _ = row
        if reason == "gdpr":
            client.suppress(email)
        else:
            client.identify(email, {"email": email, "unsubscribed": True})
        _record(conn, "customerio", [row], run_id)
        counts.sent += 1
        counts.updated += 1


SENDGRID_BATCH = 1000  # the spec gives no limit for recipient_emails; keep requests small


def push_sendgrid(conn: psycopg.Connection, client, counts: SyncCounts, run_id: str | None) -> None:
    rows = pending(conn, "sendgrid")
    for start in range(0, len(rows), SENDGRID_BATCH):
        batch = rows[start : start + SENDGRID_BATCH]
        client.add_global_unsubscribes([r[0] for r in batch])
        _record(conn, "sendgrid", batch, run_id)
        counts.sent += len(batch)
        counts.updated += len(batch)


PUSHERS: dict[str, Callable] = {
    "klaviyo": push_klaviyo,
    "customerio": push_customerio,
    "sendgrid": push_sendgrid,
}


def push_consent(
    conn: psycopg.Connection, clients: dict[str, object], run_id: str | None
) -> dict[str, SyncCounts | Exception]:
    """Push to each platform in ``clients``; one failing platform does not stop the others."""
    results: dict[str, SyncCounts | Exception] = {}
    for platform, client in clients.items():
        try:
            with recorded_sync(conn, platform, "consent", run_id) as counts:
                PUSHERS[platform](conn, client, counts, run_id)
            results[platform] = counts
        except Exception as exc:  # recorded as failed in ops.sync_history; reported by the caller
            results[platform] = exc
    return results
