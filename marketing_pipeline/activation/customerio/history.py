"""One ``ops.sync_history`` row per sync: opened as running, closed with its counts."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg.types.json import Jsonb

DESTINATION = "customerio"
MAX_ERRORS_KEPT = 50


@dataclass
class SyncCounts:
    sent: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict] = field(default_factory=list)

    def error(self, key: str, message: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"key": key, "error": message[:500]})


def open_sync(conn: psycopg.Connection, sync: str, run_id: str | None) -> int:
    return conn.execute(
        "INSERT INTO ops.sync_history (destination, sync, run_id) VALUES (%s, %s, %s) RETURNING id",
        (DESTINATION, sync, run_id),
    ).fetchone()[0]


def close_sync(
    conn: psycopg.Connection, history_id: int, counts: SyncCounts, status: str | None = None
) -> str:
    status = status or ("failed" if counts.failed else "succeeded")
    conn.execute(
        "UPDATE ops.sync_history SET finished_at = now(), status = %s, sent = %s, created = %s, updated = %s,"
        " skipped = %s, failed = %s, errors = %s WHERE id = %s",
        (
            status,
            counts.sent,
            counts.created,
            counts.updated,
            counts.skipped,
            counts.failed,
            Jsonb(counts.errors),
            history_id,
        ),
    )
    return status
