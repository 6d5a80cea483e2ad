"""The Dagster resource every writing asset uses: migrated on first use, one transaction per load."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg

from marketing_pipeline import settings
from marketing_pipeline.warehouse import mode
from marketing_pipeline.warehouse.engine import connect, database_url
from marketing_pipeline.warehouse.migrate import migrate


class WarehouseResource(dg.ConfigurableResource):
    """PostgreSQL warehouse. The URL comes from ``MARKETING_DATABASE_URL`` (or the embedded
    server) at run time, so it is never part of the run config shown in the UI."""

    apply_migrations: bool = True

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.apply_migrations:
            migrate(self.url())
        # Every run checks it writes generated data only to a sandbox warehouse, and the reverse.
        mode.claim(self.url(), settings.load().sandbox)

    def url(self) -> str:
        return database_url()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with connect(self.url()) as conn:
            yield conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection for reads and for statements that manage their own transactions."""
        with connect(self.url(), autocommit=True) as conn:
            yield conn
