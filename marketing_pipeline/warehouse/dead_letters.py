"""Keep what came from outside and could not be accepted, with the reason, for inspection."""

from __future__ import annotations

import json
from typing import Any

from psycopg.types.json import Jsonb

from marketing_pipeline.warehouse.engine import connect


def record_dead_letter(
    source: str,
    reason: str,
    payload: Any,
    *,
    headers: dict | None = None,
    run_id: str | None = None,
    url: str | None = None,
) -> int:
    """Store in its own transaction, so it survives the rollback of the load that refused it."""
    if isinstance(payload, bytes):
        text = payload.decode("utf-8", errors="replace")
    elif isinstance(payload, str):
        text = payload
    else:
        text = json.dumps(payload, default=str)
    with connect(url) as conn:
        row = conn.execute(
            "INSERT INTO ops.dead_letters (source, reason, payload, headers, run_id) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id",
            (source, reason[:2000], text, Jsonb(headers) if headers else None, run_id),
        ).fetchone()
    return row[0]
