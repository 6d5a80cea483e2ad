"""Forward-only SQL migrations from ``sql/migrations``, recorded in ``ops.schema_migrations``."""

from __future__ import annotations

import logging
from pathlib import Path

from marketing_pipeline.settings import PROJECT_ROOT
from marketing_pipeline.warehouse.engine import connect

log = logging.getLogger(__name__)

MIGRATIONS_DIR = PROJECT_ROOT / "sql" / "migrations"
_LOCK_ID = 7_301_001  # serialises concurrent runners (several Dagster step processes start at once)


def pending(applied: set[str], directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return [p for p in sorted(directory.glob("*.sql")) if p.stem not in applied]


def migrate(url: str | None = None, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction. Returns their names."""
    done: list[str] = []
    with connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute("CREATE SCHEMA IF NOT EXISTS ops")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS ops.schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {r[0] for r in conn.execute("SELECT version FROM ops.schema_migrations")}
            for path in pending(applied, directory):
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute("INSERT INTO ops.schema_migrations (version) VALUES (%s)", (path.stem,))
                log.info("applied migration %s", path.name)
                done.append(path.stem)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return done
