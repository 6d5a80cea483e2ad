"""``marketing-pipeline import-discount-codes FILE``: what the command prints and returns."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from marketing_pipeline.cart_recovery.discount_codes import BadCodeFile, free_codes, import_codes
from marketing_pipeline.warehouse import connect, database_url, migrate


def import_discount_codes(path: str) -> int:
    """0 when imported, 1 when the file was refused (nothing written), 2 when unreadable."""
    file = Path(path)
    if not file.is_file():
        print(f"import-discount-codes: {path}: no such file", file=sys.stderr)
        return 2
    url = database_url()
    migrate(url)
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
        f"read {result.read:,} codes from {file.name}: {result.added:,} added, "
        f"{result.already_there:,} already in the pool; {free:,} free codes now"
    )
    return 0
