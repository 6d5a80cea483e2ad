"""The discount-code pool: single-use codes imported from the store, handed out once each.

``claim`` binds one free code to an outbox row in a single statement (``FOR UPDATE SKIP LOCKED``:
two concurrent claims never get the same code and never wait on each other). A code that expires
within ``MIN_VALIDITY`` is not handed out: the shopper must have time to use it. A send that
certainly did not reach SendGrid gives its code back (``release``); an unknown outcome keeps it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

MIN_VALIDITY = timedelta(days=1)
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")

CLAIM_SQL = """
UPDATE ops.discount_codes SET claimed_at = %(now)s, outbox_id = %(outbox_id)s, cart_id = %(cart_id)s
WHERE code = (
    SELECT code FROM ops.discount_codes
    WHERE claimed_at IS NULL AND (expires_at IS NULL OR expires_at > %(valid_until)s)
    ORDER BY expires_at NULLS LAST, code
    FOR UPDATE SKIP LOCKED
    LIMIT 1
) AND claimed_at IS NULL
RETURNING code
"""


def claim(conn: psycopg.Connection, outbox_id: int, cart_id: str, now: datetime) -> str | None:
    """A free code now bound to ``outbox_id``, or None when the pool has none left."""
    row = conn.execute(
        CLAIM_SQL,
        {"now": now, "outbox_id": outbox_id, "cart_id": cart_id, "valid_until": now + MIN_VALIDITY},
    ).fetchone()
    return row[0] if row else None


def release(conn: psycopg.Connection, outbox_id: int) -> None:
    """Give the step's code back (the email certainly did not go out); the outbox row forgets it too."""
    with conn.transaction():
        conn.execute(
            "UPDATE ops.recovery_outbox SET discount_code = NULL, discount_percent = NULL WHERE id = %s",
            (outbox_id,),
        )
        conn.execute(
            "UPDATE ops.discount_codes SET claimed_at = NULL, outbox_id = NULL, cart_id = NULL WHERE outbox_id = %s",
            (outbox_id,),
        )


def free_codes(conn: psycopg.Connection, now: datetime) -> int:
    return conn.execute(
        "SELECT count(*) FROM ops.discount_codes WHERE claimed_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > %s)",
        (now + MIN_VALIDITY,),
    ).fetchone()[0]


class BadCodeFile(ValueError):
    """The file was refused; ``problems`` names each bad line."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} bad line(s): " + "; ".join(problems[:10]))
        self.problems = problems


@dataclass
class CodeImport:
    read: int = 0
    added: int = 0
    already_there: int = 0
    problems: list[str] = field(default_factory=list)


def _expiry(raw: str) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def read_codes(path: Path) -> list[tuple[str, datetime | None]]:
    """Rows of a CSV with a ``code`` column and an optional ``expires_at`` (ISO date or time, UTC if
    no offset). Every problem is collected; any problem refuses the whole file."""
    problems, rows, seen = [], [], set()
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "code" not in [h.strip().lower() for h in reader.fieldnames]:
            raise BadCodeFile(["line 1: a header with a 'code' column is required (optional: expires_at)"])
        for n, raw in enumerate(reader, start=2):
            rec = {(k or "").strip().lower(): (v or "") for k, v in raw.items()}
            code = rec.get("code", "").strip()
            if not CODE.match(code):
                problems.append(f"line {n}: code {code!r} must be 3-64 letters, digits, '-' or '_'")
                continue
            if code.upper() in seen:
                problems.append(f"line {n}: code {code!r} appears twice in the file (codes are single-use)")
                continue
            seen.add(code.upper())
            try:
                rows.append((code, _expiry(rec.get("expires_at", ""))))
            except ValueError:
                problems.append(f"line {n}: expires_at {rec.get('expires_at')!r} is not an ISO date or time")
    if problems:
        raise BadCodeFile(problems)
    return rows


def import_codes(conn: psycopg.Connection, path: Path, source: str | None = None) -> CodeImport:
    """Add the file's codes to the pool in one transaction (COPY); codes already there are kept as they are."""
    rows = read_codes(path)
    result = CodeImport(read=len(rows))
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE new_codes (code text, expires_at timestamptz) ON COMMIT DROP")
        with conn.cursor().copy("COPY new_codes (code, expires_at) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        result.added = conn.execute(
            "INSERT INTO ops.discount_codes (code, expires_at, source) SELECT code, expires_at, %s FROM new_codes"
            " ON CONFLICT (code) DO NOTHING",
            (source or path.name,),
        ).rowcount
    result.already_there = result.read - result.added
    return result
