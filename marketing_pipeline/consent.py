"""Who may be emailed. Every sender in the project asks here before it sends or subscribes.

Rules: a suppression from any source wins over everything; marketing subscription needs the
latest recorded consent for the email to be ``consented = true``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

import psycopg
from email_validator import EmailNotValidError, validate_email


def normalize_email(email: str | None) -> str | None:
    """The one rule for an address entering the project: valid by ``email-validator`` (syntax only,
    no DNS), stored in lower case. None when it is not an email address."""
    if not email or not isinstance(email, str) or len(email) > 320:
        return None
    return _normalized(email.strip())


@lru_cache(maxsize=65536)  # the same shoppers' addresses arrive again and again
def _normalized(email: str) -> str | None:
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def suppress(
    conn: psycopg.Connection, email: str, source: str, reason: str, at: datetime | None = None
) -> None:
    """Record a suppression (idempotent per email and source; the earliest time is kept)."""
    email = normalize_email(email)
    if email:
        conn.execute(
            "INSERT INTO ops.suppressions (email, source, reason, suppressed_at) VALUES (%s, %s, %s, coalesce(%s, now()))"
            " ON CONFLICT (email, source) DO UPDATE SET reason = EXCLUDED.reason,"
            " suppressed_at = least(ops.suppressions.suppressed_at, EXCLUDED.suppressed_at)",
            (email, source, reason, at),
        )


def record_consent(
    conn: psycopg.Connection,
    email: str,
    consented: bool,
    source: str,
    at: datetime,
    channel: str = "email",
    evidence: dict | None = None,
) -> None:
    email = normalize_email(email)
    if email:
        conn.execute(
            "INSERT INTO ops.consent (email, channel, consented, source, recorded_at, evidence)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (email, channel, consented, source, at, psycopg.types.json.Jsonb(evidence) if evidence else None),
        )


def suppressed(conn: psycopg.Connection, emails: Iterable[str]) -> set[str]:
    """The subset of ``emails`` (normalised) that must not be emailed at all."""
    wanted = sorted({e for e in map(normalize_email, emails) if e})
    if not wanted:
        return set()
    rows = conn.execute("SELECT DISTINCT email FROM ops.suppressions WHERE email = ANY(%s)", (wanted,))
    return {r[0] for r in rows}


def is_suppressed(conn: psycopg.Connection, email: str) -> bool:
    return bool(suppressed(conn, [email]))


def may_subscribe(conn: psycopg.Connection, emails: Iterable[str], channel: str = "email") -> set[str]:
    """Emails whose latest consent is a yes and who are suppressed nowhere: the only ones to subscribe."""
    wanted = sorted({e for e in map(normalize_email, emails) if e})
    if not wanted:
        return set()
    rows = conn.execute(
        "SELECT c.email FROM (SELECT DISTINCT ON (email) email, consented FROM ops.consent"
        "  WHERE channel = %s AND email = ANY(%s) ORDER BY email, recorded_at DESC) c"
        " WHERE c.consented AND NOT EXISTS (SELECT 1 FROM ops.suppressions s WHERE s.email = c.email)",
        (channel, wanted),
    )
    return {r[0] for r in rows}
