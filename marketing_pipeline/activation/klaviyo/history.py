"""``ops.sync_history``: one row per sync, written when it starts and completed when it ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg

MAX_ERRORS_KEPT = 200  # the row keeps the first errors; the counts stay exact


@dataclass
class SyncCounts:
    sent: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # per-sync details for asset metadata

    def error(self, **detail) -> None:
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(detail)

    def metadata(self) -> dict:
        return {
            "sent": self.sent,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
            **self.extra,
        }


@contextmanager
def recorded_sync(
    conn: psycopg.Connection, destination: str, sync: str, run_id: str | None
) -> Iterator[SyncCounts]:
    """Write a ``running`` row, yield the counters, then mark it succeeded or failed (and re-raise)."""
    sync_id = conn.execute(
        "INSERT INTO ops.sync_history (destination, sync, run_id) VALUES (%s, %s, %s) RETURNING id",
        (destination, sync, run_id),
    ).fetchone()[0]
    counts = SyncCounts()
    status = "failed"
    try:
        yield counts
        status = "succeeded"
    except BaseException as exc:
        counts.error(error=type(exc).__name__, detail=str(exc)[:500])
        raise
    finally:
        conn.execute(
            "UPDATE ops.sync_history SET finished_at = now(), status = %s, sent = %s, created = %s, updated = %s,"
            " skipped = %s, failed = %s, errors = %s::jsonb WHERE id = %s",
            (
                status,
                counts.sent,
                counts.created,
                counts.updated,
                counts.skipped,
                counts.failed,
                json.dumps(counts.errors, default=str),
                sync_id,
            ),
        )
