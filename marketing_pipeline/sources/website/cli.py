"""``marketing-pipeline import-orders PATH [--skip-bad] [--brand ID]``: what the command prints and returns.

``--brand`` imports into that brand's warehouse (its days cut in its time zone); without it, the
default brand's."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.sources.website.csv_import import import_csv
from marketing_pipeline.sources.website.staging import RejectedInput
from marketing_pipeline.warehouse import connect
from marketing_pipeline.warehouse.resource import prepared_url


def import_orders(path: str, *, skip_bad: bool = False, brand: str | None = None) -> int:
    """0 when the file was imported (bad rows skipped with ``skip_bad``), 1 when refused, 2 when
    unreadable or the brand is unknown."""
    file = Path(path)
    if not file.is_file():
        print(f"import-orders: {path}: no such file", file=sys.stderr)
        return 2
    try:
        target = brand_settings.load().get(brand)
    except SettingsError as exc:
        print(f"import-orders: {exc}", file=sys.stderr)
        return 2
    url = prepared_url(target)
    started = time.monotonic()
    try:
        with connect(url, autocommit=True) as conn:
            result = import_csv(conn, file, skip_bad=skip_bad, tz=target.timezone)
    except RejectedInput as exc:
        print(f"import-orders: {exc}", file=sys.stderr)
        print("nothing was written; fix the rows or re-run with --skip-bad", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(f"import-orders: {path} is not UTF-8 text ({exc.reason} at byte {exc.start})", file=sys.stderr)
        return 2
    seconds = time.monotonic() - started
    print(
        f"{target.id}: imported {result.orders:,} orders ({result.lines:,} lines) from {result.rows_read:,} rows "
        f"of {file.name} in {seconds:.1f}s"
    )
    if result.checked_because:
        print(f"checked path (every line checked in SQL): {result.checked_because}")
    if result.skipped:
        print(
            f"skipped {len(result.skipped)} bad row(s); orders left out: "
            f"{', '.join(result.skipped_orders) or '(rows without an order id)'}"
        )
        for problem in result.skipped[:50]:
            print(f"  {problem}")
        if len(result.skipped) > 50:
            print(f"  ... and {len(result.skipped) - 50} more")
    return 0
