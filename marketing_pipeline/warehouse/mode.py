"""A warehouse is either a sandbox warehouse or a real one, for good: generated data never mixes
with a brand's data. The first process that writes records the mode; later ones must match it."""

from __future__ import annotations

from marketing_pipeline.warehouse.engine import connect


class WarehouseModeError(RuntimeError):
    """A sandbox run against a real warehouse, or a real run against a sandbox warehouse."""


def _describe(sandbox: bool) -> str:
    return "sandbox (generated data)" if sandbox else "real (a brand's data)"


def claim(url: str, sandbox: bool) -> bool:
    """Record the mode if none is recorded; raise ``WarehouseModeError`` if it differs.

    Returns the mode recorded for the warehouse."""
    with connect(url) as conn:
        row = conn.execute(
            "INSERT INTO ops.warehouse_mode (sandbox) VALUES (%s) ON CONFLICT (only_row) DO UPDATE "
            "SET only_row = EXCLUDED.only_row RETURNING sandbox",
            (sandbox,),
        ).fetchone()
    recorded = row[0]
    if recorded != sandbox:
        raise WarehouseModeError(
            f"this warehouse is a {_describe(recorded)} warehouse; refusing a {_describe(sandbox)} run. "
            + (
                "Unset MARKETING_SANDBOX, or give the sandbox its own MARKETING_DATABASE_URL."
                if recorded is False
                else "Point MARKETING_DATABASE_URL at the brand's own warehouse, or set MARKETING_SANDBOX=1."
            )
        )
    return recorded
