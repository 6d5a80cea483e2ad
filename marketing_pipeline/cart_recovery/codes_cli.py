"""``marketing-pipeline import-discount-codes FILE [--brand ID]``: what the command prints and returns.

Each brand's store has its own codes: ``--brand`` adds them to that brand's pool (its warehouse);
without it, the default brand's."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from marketing_pipeline.cart_recovery.discount_codes import BadCodeFile, free_codes, import_codes
from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.warehouse import connect
from marketing_pipeline.warehouse.resource import prepared_url


def import_discount_codes(path: str, brand: str | None = None) -> int:
    """0 when imported, 1 when the file was refused (nothing written), 2 when unreadable or the
    brand is unknown."""
    file = Path(path)
    if not file.is_file():
        print(f"import-discount-codes: {path}: no such file", file=sys.stderr)
        return 2
    try:
        target = brand_settings.load().get(brand)
    except SettingsError as exc:
        print(f"import-discount-codes: {exc}", file=sys.stderr)
        return 2
    url = prepared_url(target)
    try:
        with connect(url, autocommit=True) as conn:
            result = import_codes(conn, file)
            free = free_codes(conn, datetime.now(UTC))
    except BadCodeFile as exc:
        print(f"import-discount-codes: {file.name}: refused, nothing written", file=sys.stderr)
        for problem in exc.problems[:50]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(f"import-discount-codes: {path} is not UTF-8 text ({exc.reason})", file=sys.stderr)
        return 2
    print(
        f"{target.id}: read {result.read:,} codes from {file.name}: {result.added:,} added, "
        f"{result.already_there:,} already in the pool; {free:,} free codes now"
    )
    return 0
