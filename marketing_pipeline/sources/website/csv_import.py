"""Import website order history from CSV: streamed, checked line by line, upserted on order id.

Layout: a header row, then one row per order line with the order's fields repeated on each
of its lines (columns in ``staging.FIELDS``; see the README). Unknown columns are ignored.

A clean file whose orders sit on consecutive lines takes the fast path (``csv_direct``:
polars checks, COPY straight into the order tables). Anything else takes the checked path
here: the file is streamed into a temp staging table with COPY, checked in SQL and merged in
SQL, so memory does not grow with the file. Staging hands the bytes to PostgreSQL's own CSV
parser; a file it cannot read row for line (a quoted field spanning lines, a row with the
wrong number of columns) is read again with the csv module, which knows every row's line.

Any bad row refuses the whole file (nothing written), naming its line and the problem;
``skip_bad=True`` writes every order without a bad line and reports the rest.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import errors

from marketing_pipeline import settings
from marketing_pipeline.sources.website import csv_direct, staging
from marketing_pipeline.sources.website.staging import (
    FIELDS,
    REQUIRED,
    STAGE,
    LoadResult,
    Problem,
    RejectedInput,
)

ALIASES = {"customer_email": "email", "name": "product_name", "created": "created_at"}
CHUNK = 1 << 20
log = logging.getLogger(__name__)


class _NeedsCsvModule(Exception):
    """The fast path cannot map rows to lines for this file."""


def _header(line: str, path: Path) -> list[str | None]:
    """Header cells -> staging fields (None: a column we ignore); refuse missing or repeated ones."""
    names = next(csv.reader(io.StringIO(line)), [])
    mapped: list[str | None] = []
    for name in names:
        key = name.strip().lower().replace(" ", "_")
        key = ALIASES.get(key, key)
        if key in mapped:
            raise RejectedInput(str(path), [Problem(1, None, f"header repeats column {key!r}")])
        mapped.append(key if key in FIELDS else None)
    missing = [f for f in REQUIRED if f not in mapped]
    if missing:
        raise RejectedInput(
            str(path), [Problem(1, None, f"header lacks required column(s) {', '.join(missing)}")]
        )
    return mapped


def _read_header(path: Path) -> tuple[list[str | None], int]:
    with path.open("rb") as handle:
        first = handle.readline()
    if not first.strip():
        raise RejectedInput(str(path), [Problem(1, None, "the file is empty (no header row)")])
    text = first.decode("utf-8-sig").rstrip("\r\n")
    if text.count('"') % 2:
        raise RejectedInput(str(path), [Problem(1, None, "the header row has an unterminated quote")])
    return _header(text, path), len(first)


def _copy_bytes(conn: psycopg.Connection, path: Path, columns: list[str | None], header_bytes: int) -> int:
    """Stream the file (after the header) into staging through PostgreSQL's CSV parser.

    Rows are numbered in arrival order, so each must be exactly one physical line: every
    unquoted newline ends a row, so the row count equals the line count unless a quoted
    field spans lines (counting newlines is C-speed; no per-line work in Python).
    """
    names = [c or f"_ignored_{i}" for i, c in enumerate(columns)]
    staging.create_stage(conn, [n for n in names if n.startswith("_ignored_")])
    lines = 0
    with conn.cursor() as cur:
        with (
            cur.copy(f"COPY {STAGE} ({', '.join(names)}) FROM STDIN (FORMAT csv)") as copy,
            path.open("rb") as f,
        ):
            f.seek(header_bytes)
            carry = b""
            while chunk := f.read(CHUNK):
                body, _, carry = (carry + chunk).rpartition(b"\n")
                if b"\n\n" in body or body.startswith(b"\n"):
                    raise _NeedsCsvModule("blank lines")
                if body:
                    copy.write(body + b"\n")
                    lines += body.count(b"\n") + 1
            if carry.strip():
                copy.write(carry + b"\n")
                lines += 1
        if cur.rowcount != lines:
            raise _NeedsCsvModule("a quoted field spans lines")
        return cur.rowcount


def read_rows(path: Path, columns: list[str | None]) -> Iterator[tuple]:
    """Staging rows via the csv module, each with its first physical line number."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        width = len(columns)
        positions = [(columns.index(f) if f in columns else None) for f in FIELDS]
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield (line, *([None] * len(FIELDS)), f"unreadable CSV: {exc}", None)
                continue
            if not cells or cells == [""]:
                continue
            problem = None
            if len(cells) != width:
                problem = f"has {len(cells)} columns, the header has {width}"
                cells = (cells + [""] * width)[:width]
            yield (line, *((cells[p] or None) if p is not None else None for p in positions), problem, None)


def _stage(conn: psycopg.Connection, path: Path, columns: list[str | None], header_bytes: int) -> int:
    try:
        with conn.transaction():
            return _copy_bytes(conn, path, columns, header_bytes)
    except (_NeedsCsvModule, errors.BadCopyFileFormat):
        pass
    staging.create_stage(conn)
    return staging.stage_rows(conn, read_rows(path, columns))


def import_csv(
    conn: psycopg.Connection,
    path: str | Path,
    *,
    skip_bad: bool = False,
    source: str | None = None,
    run_id: str | None = None,
    tz: str | None = None,
) -> LoadResult:
    """Import one CSV file in one transaction; raises ``RejectedInput`` (nothing written) on bad rows
    unless ``skip_bad``, in which case the orders with a bad line are left out and listed in the result.

    A clean file takes the fast path (``csv_direct``); any file it does not vouch for is rolled
    back and imported by the checked path, which names every bad line. ``tz``: the brand's time
    zone, which cuts the orders' days (default ``BRAND_TIMEZONE``).
    """
    path = Path(path)
    source = source or f"csv:{path.name}"
    tz = tz or settings.load().brand_timezone
    columns, header_bytes = _read_header(path)
    result = LoadResult()
    with conn.transaction():
        try:
            with conn.transaction():
                return csv_direct.import_file(
                    conn, path, columns, header_bytes, source=source, tz=tz, run_id=run_id
                )
        except csv_direct.NotForFastPath as why:
            log.info("%s: checked path (%s)", path.name, why)
            result.checked_because = str(why)
        result.rows_read = _stage(conn, path, columns, header_bytes)
        problems = staging.find_problems(conn, source=source, tz=tz, run_id=run_id)
        if problems and not skip_bad:
            raise RejectedInput(str(path), problems)
        result.skipped = problems
        result.orders, result.lines = staging.merge(conn)
    return result
