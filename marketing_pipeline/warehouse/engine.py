"""Where a brand's warehouse is: its URL variable, a database beside the default brand's, or the
embedded server.

Each brand keeps its data in a database of its own, so no query, key or identity rule can mix two
brands' rows; the default brand's is ``MARKETING_DATABASE_URL`` (or the embedded ``marketing``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from marketing_pipeline import settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.warehouse import embedded

WAREHOUSE_DB = "marketing"
SANDBOX_WAREHOUSE_DB = "marketing_sandbox"  # the embedded server keeps the two apart


def database_url(cfg: settings.Settings | None = None, brand: Brand | None = None) -> str:
    """The warehouse of ``brand`` (None: the default brand)."""
    cfg = cfg or settings.load()
    if brand is not None and not brand.is_default:
        own = os.environ.get(brand.warehouse_variable, "").strip()
        if own:
            return own
        if not cfg.database_url:
            base = SANDBOX_WAREHOUSE_DB if cfg.sandbox else WAREHOUSE_DB
            return embedded.url(cfg.state_dir, f"{base}_{brand.id}")
        return beside(cfg.database_url, brand.id)
    if cfg.database_url:
        return cfg.database_url
    return embedded.url(cfg.state_dir, SANDBOX_WAREHOUSE_DB if cfg.sandbox else WAREHOUSE_DB)


def beside(url: str, brand_id: str) -> str:
    """A database on the same server as ``url``, named after it and the brand (created on first use)."""
    info = psycopg.conninfo.conninfo_to_dict(libpq_url(url))
    info["dbname"] = f"{info.get('dbname') or info.get('user') or 'postgres'}_{brand_id}"
    return psycopg.conninfo.make_conninfo(**info)


def ensure_database(url: str, server_url: str) -> None:
    """Create the database ``url`` names, through ``server_url`` (any database of the same server)."""
    name = psycopg.conninfo.conninfo_to_dict(libpq_url(url))["dbname"]
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            pass  # another process created it first
        except psycopg.errors.InsufficientPrivilege as exc:
            raise RuntimeError(
                f"cannot create the database {name!r} ({exc.diag.message_primary}); create it, or set "
                "the brand's warehouse variable (<ID>_MARKETING_DATABASE_URL) to a database it may use"
            ) from None


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
