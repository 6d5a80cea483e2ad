"""Bring up what a command needs: the warehouse, its mode, the Dagster instance."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from marketing_pipeline import celery_jobs, settings
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings import vendors
from marketing_pipeline.warehouse import embedded
from marketing_pipeline.warehouse.engine import database_url, sqlalchemy_url
from marketing_pipeline.warehouse.resource import WarehouseResource


@dataclass
class Runtime:
    warehouse_url: str  # the default brand's
    sandbox: bool
    unconfigured: dict[str, list[str]]  # vendor key -> its missing variables
    dagster_home: Path
    brand_urls: dict[str, str]  # brand id -> its warehouse, every brand of the brands file


def start() -> Runtime:
    """Every brand's warehouse up, migrated, of the right mode and claimed for its brand; instance configured.

    Sets ``MARKETING_DATABASE_URL`` and ``DAGSTER_POSTGRES_URL`` so child processes (Dagster's
    code server and run workers) share this process's embedded server instead of starting one,
    and the Celery URLs when unset. Sandbox mode (set by the caller beforehand) keeps its own
    embedded databases and Dagster home, so a sandbox never shares them with a brand's data.
    """
    cfg = settings.load()
    suffix = "_sandbox" if cfg.sandbox else ""
    warehouse_url = database_url(cfg)
    if cfg.database_url:
        dagster_url = os.environ.get("DAGSTER_POSTGRES_URL") or sqlalchemy_url(warehouse_url, "psycopg2")
    else:
        dagster_libpq = embedded.url(cfg.state_dir, "dagster" + suffix)
        dagster_url = sqlalchemy_url(dagster_libpq, "psycopg2")
        os.environ["MARKETING_DATABASE_URL"] = warehouse_url
        if cfg.sandbox:  # generated data on a server of its own: no commit waits for the disk
            for url in (warehouse_url, dagster_libpq):
                embedded.commits_without_flush(url)
    os.environ.setdefault("DAGSTER_POSTGRES_URL", dagster_url)
    celery_jobs.apply_env_defaults()  # for daily_ingest_celery runs and workers
    brand_urls = {}
    for brand in brand_settings.load():
        warehouse = WarehouseResource(brand_id=brand.id)
        warehouse.prepare()
        brand_urls[brand.id] = warehouse.url()
        if cfg.sandbox and not cfg.database_url and not brand.is_default:
            embedded.commits_without_flush(brand_urls[brand.id])

    home = cfg.state_dir / ("dagster_home" + suffix)
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return Runtime(warehouse_url, cfg.sandbox, vendors.unconfigured(), home, brand_urls)
