"""Where the warehouse is: ``MARKETING_DATABASE_URL``, or the embedded server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from marketing_pipeline import settings
from marketing_pipeline.warehouse import embedded

WAREHOUSE_DB = "marketing"
SANDBOX_WAREHOUSE_DB = "marketing_sandbox"  # the embedded server keeps the two apart


def database_url(cfg: settings.Settings | None = None) -> str:
    cfg = cfg or settings.load()
    if cfg.database_url:
        return cfg.database_url
    return embedded.url(cfg.state_dir, SANDBOX_WAREHOUSE_DB if cfg.sandbox else WAREHOUSE_DB)


def sqlalchemy_url(url: str, driver: str = "psycopg") -> str:
    """The same URL with an explicit SQLAlchemy driver (SQLAlchemy 2.1 and psycopg2 disagree on defaults)."""
    scheme, _, rest = url.partition("://")
    return f"postgresql+{driver}://{rest}" if scheme.startswith("postgres") else url


def libpq_url(url: str) -> str:
    """Strip a SQLAlchemy driver suffix so psycopg accepts the URL."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgresql+") else url


@contextmanager
def connect(url: str | None = None, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A psycopg connection; without autocommit the block is one transaction (commit on success)."""
    with psycopg.connect(libpq_url(url or database_url()), autocommit=autocommit) as conn:
        yield conn
