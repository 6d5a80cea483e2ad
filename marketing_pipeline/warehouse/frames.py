"""Warehouse rows as polars DataFrames, for notebooks and analysts."""

from __future__ import annotations

import polars as pl

from marketing_pipeline.warehouse.engine import connect


def query_frame(sql: str, params: tuple = ()) -> pl.DataFrame:
    """Rows from the warehouse (MARKETING_DATABASE_URL, or the embedded server) as a DataFrame."""
    with connect() as conn:
        cur = conn.execute(sql, params)
        columns = [d.name for d in cur.description]
        return pl.DataFrame(cur.fetchall(), schema=columns, orient="row", infer_schema_length=None)
