"""Bring up what a command needs: the warehouse, the sandbox, vendor variables, the Dagster instance."""

from __future__ import annotations

import logging
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from marketing_pipeline import celery_jobs, settings, vendor_env
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.warehouse import connect, embedded, migrate
from marketing_pipeline.warehouse.engine import WAREHOUSE_DB, sqlalchemy_url

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    warehouse_url: str
    sandbox: BackgroundServer | None
    sandbox_vendors: list[str]
    dagster_home: Path


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def start(
    *,
    sandbox_port: int = vendor_env.DEFAULT_SANDBOX_PORT,
    seed: int = 7,
    scale: float = 1.0,
    faults: str | None = None,
) -> Runtime:
    """Warehouse up and migrated, sandbox serving the vendors without keys, instance configured.

    Sets ``MARKETING_DATABASE_URL`` and ``DAGSTER_POSTGRES_URL`` so child processes (Dagster's
    code server and run workers) share this process's embedded server instead of starting one,
    and the Celery URLs when unset.
    """
    cfg = settings.load()
    if cfg.database_url:
        warehouse_url = cfg.database_url
        dagster_url = os.environ.get("DAGSTER_POSTGRES_URL") or sqlalchemy_url(warehouse_url, "psycopg2")
    else:
        warehouse_url = embedded.url(cfg.state_dir, WAREHOUSE_DB)
        dagster_url = sqlalchemy_url(embedded.url(cfg.state_dir, "dagster"), "psycopg2")
        os.environ["MARKETING_DATABASE_URL"] = warehouse_url
    os.environ.setdefault("DAGSTER_POSTGRES_URL", dagster_url)
    celery_jobs.apply_env_defaults()  # for daily_ingest_celery runs and workers
    migrate(warehouse_url)

    server = None
    needs_sandbox = any(env.uses_sandbox(os.environ) for env in vendor_env.vendor_envs())
    if needs_sandbox:
        from marketing_pipeline.sandbox.app import build

        port = sandbox_port if port_free(sandbox_port) else 0
        server = BackgroundServer(build(seed=seed, scale=scale, faults=faults).app, port=port).start()
        log.info("sandbox serving on %s", server.url)
    served = vendor_env.apply_defaults(server.url if server else vendor_env.DEFAULT_SANDBOX_URL)
    # The sandbox store's discount codes, only while mail goes to the sandbox's SendGrid: sandbox
    # codes never reach a real inbox.
    if server and "SendGrid" in served:
        from marketing_pipeline.sandbox.discount_codes import seed_pool

        with connect(warehouse_url, autocommit=True) as conn:
            seed_pool(conn, seed=seed)

    home = cfg.state_dir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return Runtime(warehouse_url, server, served, home)
