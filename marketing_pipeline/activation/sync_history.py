"""``ops.sync_history``: one row per sync to any destination, opened as running, closed with its counts."""

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
        """Keep an error's details (the first ``MAX_ERRORS_KEPT``); counting is the caller's."""
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(detail)

    def fail(self, key: str, message: str) -> None:
        """One record could not be synced: count it and keep why."""
        self.failed += 1
        self.error(key=key, error=message[:500])

    def metadata(self) -> dict:
        return {
            "sent": self.sent,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
            **self.extra,
        }


def open_sync(conn: psycopg.Connection, destination: str, sync: str, run_id: str | None) -> int:
    """Write the ``running`` row; returns its id for ``close_sync``."""
    return conn.execute(
        "INSERT INTO ops.sync_history (destination, sync, run_id) VALUES (%s, %s, %s) RETURNING id",
        (destination, sync, run_id),
    ).fetchone()[0]


def close_sync(conn: psycopg.Connection, sync_id: int, counts: SyncCounts, status: str | None = None) -> str:
    """Finish the row with the counts; without a status, any failed record makes it ``failed``."""
    status = status or ("failed" if counts.failed else "succeeded")
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
    return status


@contextmanager
def recorded_sync(
    conn: psycopg.Connection, destination: str, sync: str, run_id: str | None
) -> Iterator[SyncCounts]:
    """Open the row, yield the counters, then mark it succeeded, or failed if the block raised (re-raised)."""
    sync_id = open_sync(conn, destination, sync, run_id)
    counts = SyncCounts()
    try:
        yield counts
    except BaseException as exc:
        counts.error(error=type(exc).__name__, detail=str(exc)[:500])
        close_sync(conn, sync_id, counts, "failed")
        raise
    close_sync(conn, sync_id, counts, "succeeded")
