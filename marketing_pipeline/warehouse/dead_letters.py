"""Keep what came from outside and could not be accepted, with the reason, for inspection."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from marketing_pipeline.untrusted import storable_text
from marketing_pipeline.warehouse.engine import connect

_INSERT = (
    "INSERT INTO ops.dead_letters (source, reason, payload, payload_escaped, headers, run_id)"
    " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"
)


def record_dead_letter(
    source: str,
    reason: str,
    payload: Any,
    *,
    headers: dict | None = None,
    run_id: str | None = None,
    url: str | None = None,
    conn: psycopg.Connection | None = None,
) -> int:
    """Store in its own transaction (or on ``conn``, an autocommit connection), so it survives the
    rollback of the load that refused it. A body that cannot be stored verbatim is stored escaped."""
    if not isinstance(payload, (bytes, str)):
        payload = json.dumps(payload, default=str)
    text, escaped = storable_text(payload)
    params = (
        source,
        storable_text(reason[:2000])[0],
        text,
        escaped,
        Jsonb({storable_text(str(k))[0]: storable_text(str(v))[0] for k, v in headers.items()})
        if headers
        else None,
        run_id,
    )
    if conn is not None:
        return conn.execute(_INSERT, params).fetchone()[0]
    with connect(url) as own:
        return own.execute(_INSERT, params).fetchone()[0]
