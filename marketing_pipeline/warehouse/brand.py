"""A warehouse belongs to one brand, for good: the first run that writes records it, later runs must
match it (as ``mode`` does for sandbox and real data)."""

from __future__ import annotations

from marketing_pipeline.settings.brands import DEFAULT_ID, Brand
from marketing_pipeline.warehouse.engine import connect


class WarehouseBrandError(RuntimeError):
    """A run for one brand against the warehouse of another."""


def claim(url: str, brand: Brand) -> str:
    """Record ``brand`` if the warehouse has no brand yet; raise ``WarehouseBrandError`` if it holds
    another's. The default brand of a brands file takes over a single-brand warehouse ('default')."""
    with connect(url) as conn:
        recorded = conn.execute(
            "INSERT INTO ops.warehouse_brand (brand_id, brand_name) VALUES (%s, %s) "
            "ON CONFLICT (only_row) DO UPDATE SET only_row = EXCLUDED.only_row RETURNING brand_id",
            (brand.id, brand.name),
        ).fetchone()[0]
        if recorded == brand.id:
            return recorded
        if recorded == DEFAULT_ID and brand.is_default:
            conn.execute(
                "UPDATE ops.warehouse_brand SET brand_id = %s, brand_name = %s", (brand.id, brand.name)
            )
            return brand.id
    raise WarehouseBrandError(
        f"this warehouse holds brand {recorded!r}; refusing a run of brand {brand.id!r}. "
        f"Point {brand.warehouse_variable} at brand {brand.id!r}'s own database."
    )


def recorded(url: str) -> str | None:
    """The brand a warehouse holds, or None before its first run."""
    with connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT brand_id FROM ops.warehouse_brand").fetchone()
    return row[0] if row else None
