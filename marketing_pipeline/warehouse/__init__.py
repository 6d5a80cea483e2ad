"""PostgreSQL: where the warehouse lives (URL or embedded), its migrations, and the bulk loader."""

from marketing_pipeline.warehouse.dead_letters import record_dead_letter
from marketing_pipeline.warehouse.engine import connect, database_url, sqlalchemy_url
from marketing_pipeline.warehouse.loader import (
    ChangeLog,
    copy_rows,
    delete_partitions,
    replace_partitions,
    upsert_rows,
)
from marketing_pipeline.warehouse.migrate import migrate
from marketing_pipeline.warehouse.pool import apooled, pooled
from marketing_pipeline.warehouse.resource import WarehouseResource

__all__ = [
    "ChangeLog",
    "WarehouseResource",
    "connect",
    "copy_rows",
    "delete_partitions",
    "record_dead_letter",
    "database_url",
    "migrate",
    "apooled",
    "pooled",
    "replace_partitions",
    "sqlalchemy_url",
    "upsert_rows",
]
