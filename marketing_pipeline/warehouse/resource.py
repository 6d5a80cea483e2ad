"""The Dagster resource every writing asset uses: migrated on first use, one transaction per load."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg

from marketing_pipeline import settings
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.warehouse import brand as warehouse_brand
from marketing_pipeline.warehouse import mode
from marketing_pipeline.warehouse.engine import connect, database_url, ensure_database
from marketing_pipeline.warehouse.migrate import migrate

_prepared: set[tuple] = set()  # (url, brand, migrated, sandbox) checked in this process


class WarehouseResource(dg.ConfigurableResource):
    """PostgreSQL warehouse of one brand. The URL comes from the brand's variable
    (``MARKETING_DATABASE_URL`` for the default brand, or the embedded server) at run time, so it is
    never part of the run config shown in the UI. ``for_brand`` gives another brand's warehouse."""

    apply_migrations: bool = True
    brand_id: str = ""  # empty: the default brand

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.prepare()

    def brand(self) -> Brand:
        return brand_settings.load().get(self.brand_id)

    def for_brand(self, brand: Brand | str) -> WarehouseResource:
        """The warehouse of ``brand``, created, migrated and claimed on first use in this process."""
        brand_id = brand if isinstance(brand, str) else brand.id
        if brand_id == self.brand().id:
            return self
        other = WarehouseResource(apply_migrations=self.apply_migrations, brand_id=brand_id)
        other.prepare()
        return other

    def prepare(self) -> None:
        """Create the brand's database if needed, apply migrations, and check it holds this brand's
        data and the kind of data (sandbox or real) this run writes."""
        brand, url, sandbox = self.brand(), self.url(), settings.load().sandbox
        key = (url, brand.id, self.apply_migrations, sandbox)
        if key in _prepared:
            return
        if not brand.is_default:
            ensure_database(url, database_url())
        if self.apply_migrations:
            migrate(url)
        # Every run checks it writes generated data only to a sandbox warehouse, and the reverse.
        mode.claim(url, sandbox)
        warehouse_brand.claim(url, brand)
        _prepared.add(key)

    def url(self) -> str:
        return database_url(brand=self.brand())

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


def prepared_url(brand: Brand) -> str:
    """A brand's warehouse URL for a command: the default brand's migrated, another brand's created,
    migrated and claimed for it on first use."""
    if brand.is_default:
        url = database_url()
        migrate(url)
        return url
    warehouse = WarehouseResource(brand_id=brand.id)
    warehouse.prepare()
    return warehouse.url()
