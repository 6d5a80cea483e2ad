"""Email marketing subscriptions in Klaviyo, only with recorded consent.

Rules:
- Subscribing goes only through ``POST /api/profile-subscription-bulk-create-jobs``.
- An email is subscribed only when ``consent.may_subscribe`` says so (its latest recorded email
  consent is a yes and it is suppressed nowhere), checked right before each call. Unsubscribes
  and suppressions read from Klaviyo are in ``ops.suppressions``, so they are never re-subscribed
  (Klaviyo's subscribe call would lift an unsubscribe: the check here is what prevents it).
- TikTok Shop buyers give no marketing consent to the brand: they are never subscribed unless
  they also consented elsewhere (e.g. at the website checkout).
- Consent is sent as a historical import with its ``consented_at``: the person already opted in,
  so no double opt-in mail is sent.
"""

from __future__ import annotations

import psycopg

from marketing_pipeline.activation.klaviyo import limits
from marketing_pipeline.activation.sync_history import SyncCounts
from marketing_pipeline.consent import may_subscribe

CANDIDATES_SQL = """
SELECT p.email FROM ops.klaviyo_profiles p
WHERE NOT EXISTS (SELECT 1 FROM ops.klaviyo_subscriptions s WHERE s.email = p.email)
ORDER BY p.email
"""

LATEST_CONSENT_SQL = """
SELECT DISTINCT ON (email) email, recorded_at, source FROM ops.consent
WHERE channel = 'email' AND email = ANY(%s) ORDER BY email, recorded_at DESC
"""


def subscription_body(rows: list[tuple[str, object, str]]) -> dict:
    return {
        "data": {
            "type": "profile-subscription-bulk-create-job",
            "attributes": {
                "custom_source": "marketing_pipeline consent sync",
                "historical_import": True,
                "profiles": {
                    "data": [
                        {
                            "type": "profile",
                            "attributes": {
                                "email": email,
                                "subscriptions": {
                                    "email": {
                                        "marketing": {
                                            "consent": "SUBSCRIBED",
                                            "consented_at": consented_at.isoformat(),
                                        }
                                    }
                                },
                            },
                        }
                        for email, consented_at, _ in rows
                    ]
                },
            },
        }
    }


def sync_subscriptions(conn: psycopg.Connection, client, run_id: str | None, counts: SyncCounts) -> None:
    candidates = [r[0] for r in conn.execute(CANDIDATES_SQL)]
    for start in range(0, len(candidates), limits.MAX_SUBSCRIBE_PER_CALL):
        batch = candidates[start : start + limits.MAX_SUBSCRIBE_PER_CALL]
        allowed = may_subscribe(conn, batch)  # consent and suppressions, read right before the call
        counts.skipped += len(batch) - len(allowed)
        if not allowed:
            continue
        rows = conn.execute(LATEST_CONSENT_SQL, (sorted(allowed),)).fetchall()
        client.jsonapi("POST", "/api/profile-subscription-bulk-create-jobs", json=subscription_body(rows))
        with conn.transaction():
            for email, consented_at, source in rows:
                conn.execute(
                    "INSERT INTO ops.klaviyo_subscriptions (email, consented_at, consent_source, run_id)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (email) DO NOTHING",
                    (email, consented_at, source, run_id),
                )
        counts.sent += len(rows)
        counts.created += len(rows)
