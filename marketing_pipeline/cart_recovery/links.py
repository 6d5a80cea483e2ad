"""Recovery and unsubscribe links: unguessable tokens of which only a SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from marketing_pipeline.consent import suppress

TOKEN_BYTES = 24  # 192 bits


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(
    conn: psycopg.Connection,
    kind: str,
    cart_id: str,
    step: int,
    email: str,
    target_url: str | None,
    now: datetime,
    ttl: timedelta | None,
) -> str:
    """A new token for a link; returns the token itself (it exists only in the email from now on)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    conn.execute(
        "INSERT INTO ops.recovery_links (token_hash, kind, cart_id, step, email, target_url, created_at, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (token_hash(token), kind, cart_id, step, email, target_url, now, now + ttl if ttl else None),
    )
    return token


@dataclass(frozen=True)
class Link:
    kind: str
    cart_id: str
    step: int
    email: str
    target_url: str | None
    expired: bool


def resolve(conn: psycopg.Connection, kind: str, token: str, now: datetime) -> Link | None:
    if not token or len(token) > 200:
        return None
    row = conn.execute(
        "SELECT kind, cart_id, step, email, target_url, expires_at IS NOT NULL AND expires_at <= %s"
        " FROM ops.recovery_links WHERE token_hash = %s AND kind = %s",
        (now, token_hash(token), kind),
    ).fetchone()
    return Link(*row) if row else None


def record_click(
    conn: psycopg.Connection, token: str, now: datetime, user_agent: str | None = None
) -> Link | None:
    """Resolve a recovery link and, when it is valid, record the click. Expired links are not counted."""
    link = resolve(conn, "recover", token, now)
    if link and not link.expired:
        conn.execute(
            "INSERT INTO ops.recovery_clicks (token_hash, cart_id, step, clicked_at, user_agent) VALUES (%s, %s, %s, %s, %s)",
            (
                token_hash(token),
                link.cart_id,
                link.step,
                now,
                (user_agent or "").replace("\x00", "")[:500] or None,
            ),
        )
    return link


def unsubscribe(conn: psycopg.Connection, token: str, now: datetime) -> Link | None:
    link = resolve(conn, "unsubscribe", token, now)
    if link:
        suppress(conn, link.email, "recovery_link", "unsubscribed", now)
    return link
