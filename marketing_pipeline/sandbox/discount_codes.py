"""The sandbox brand's discount-code pool, as if imported from its store: deterministic single-use
codes, half of them expiring in 90 days. Idempotent: seeding again adds nothing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import psycopg

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are typed by hand


def sandbox_codes(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(f"{seed}:discount-codes")
    return [f"LUMEN-{''.join(rng.choice(ALPHABET) for _ in range(8))}" for _ in range(count)]


def seed_pool(conn: psycopg.Connection, size: int = 500, seed: int = 7, now: datetime | None = None) -> int:
    """Put the sandbox's ``size`` codes in the pool; returns how many were new."""
    now = now or datetime.now(UTC)
    codes = sandbox_codes(size, seed)
    expiries = [now + timedelta(days=90) if n % 2 else None for n in range(size)]
    return conn.execute(
        "INSERT INTO ops.discount_codes (code, expires_at, source)"
        " SELECT code, expires_at, 'sandbox' FROM unnest(%s::text[], %s::timestamptz[]) AS t(code, expires_at)"
        " ON CONFLICT (code) DO NOTHING",
        (codes, expiries),
    ).rowcount


def seed_into(warehouse_url: str) -> int:
    """Seed the pool of a sandbox warehouse (the CLI's sandbox mode and the demo call this)."""
    from marketing_pipeline.warehouse import connect

    with connect(warehouse_url, autocommit=True) as conn:
        return seed_pool(conn)
