"""The fast path of the CSV import: a clean file whose orders sit on consecutive lines is
written straight into the order tables with COPY, with no staging table.

The file is read in chunks of whole lines and parsed by polars, every column as text. Each
chunk is checked with vectorized tests that accept only the common shapes of good values and
are at least as strict as the SQL checks in ``staging``. Its orders (held back when the
chunk ends inside one) are then COPYed in with their lines. Once the orders' primary key
says one is stored already, that chunk and the rest of the file are COPYed into temp tables
instead and merged in SQL at the end: stored rows that differ from the file's are replaced, the
same rows are left as they are, so importing a file twice rewrites nothing (and logs no changed
day for the marts).

Anything these tests do not vouch for raises ``NotForFastPath`` with the reason: a bad or
unusual value, an order whose lines are spread over the file, a quoted field spanning lines,
an order without its subtotal or discount (the checked path sums them from the lines). The
caller rolls back and runs the checked path, which names every bad line; so the fast path
never has to explain a problem, only to notice one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import psycopg

from marketing_pipeline.sources.website.staging import (
    FIELDS,
    LINE_COLUMNS,
    ORDER_COLUMNS,
    ORDER_FIELDS,
    ORDER_LOCK,
    LoadResult,
)
from marketing_pipeline.warehouse.loader import ChangeLog

CHUNK = 8 << 20

# Shapes the fast path accepts; each is a subset of what the checked path accepts.
_AMOUNT = r"^\d{1,17}(\.\d{1,6})?$"
_COUNT = r"^\d{1,6}$"
_TIMESTAMP = (
    r"^(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?"
    r"(Z|[+-](0\d|1[0-5]):[0-5]\d)$"
)
_EMAIL = r"^[!-?A-~]+@[!-?A-~]+$"  # printable ASCII, one @ with something on each side
_CURRENCY = r"^[A-Za-z]{3}$"
_BOOLEAN = r"^(?i:true|false|t|f|yes|no|y|n|1|0)$"
_TRUE = r"^(?i:true|t|yes|y|1)$"
_ORDER_AMOUNTS = ("total", "subtotal", "discount")  # required here: the checked path sums missing ones
_OPTIONAL_ORDER_AMOUNTS = ("shipping", "tax")


_LONE_CR = re.compile(rb"\r(?!\n)")  # a carriage return that does not end a line


class NotForFastPath(Exception):
    """The file needs the checked path; the message says why."""


def _chunks(path: Path, start: int) -> Iterator[bytes]:
    """The file from byte ``start`` in pieces of whole lines (each piece copied once)."""
    with path.open("rb") as handle:
        handle.seek(start)
        carry = b""
        while chunk := handle.read(CHUNK):
            end = chunk.rfind(b"\n") + 1
            if end:
                yield b"".join((carry, memoryview(chunk)[:end]))
                carry = chunk[end:]
            else:
                carry += chunk
        if carry:
            yield carry + b"\n"


def _parse(body: bytes, names: list[str], first_line: int) -> pl.DataFrame:
    """One chunk as text columns plus ``line_no``; refuses what would not map one row to one line."""
    if b"\r" in body and _LONE_CR.search(body):
        raise NotForFastPath("a carriage return that does not end a line")
    width, lines = len(names), body.count(b"\n")
    try:
        frame = pl.read_csv(body, has_header=False, new_columns=names, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise NotForFastPath(f"a chunk polars cannot read ({type(exc).__name__})") from None
    if frame.width != width or frame.height != lines:
        raise NotForFastPath("a row that is not exactly one line (a quoted field spanning lines?)")
    # polars fills a short row's missing cells with nulls (a long row is an error above). Without
    # quotes every comma separates cells, so the count proves each row is full.
    if b'"' in body:
        separators = pl.Series(body.decode().split("\n")[:-1]).str.replace_all('"[^"]*"', "")
        short = (separators.str.count_matches(",", literal=True) != width - 1).any()
    else:
        short = body.count(b",") != lines * (width - 1)
    if short:
        raise NotForFastPath("a row with fewer cells than the header")
    frame = frame.with_columns(line_no=pl.int_range(first_line, first_line + lines, dtype=pl.Int64))
    missing = [f for f in FIELDS if f not in frame.columns]
    return frame.with_columns(pl.lit(None, pl.String).alias(f) for f in missing)


def _matches(column: str, pattern: str) -> pl.Expr:
    return pl.col(column).str.contains(pattern).fill_null(False)


def _split(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check a chunk's complete orders; return (lines, orders): ``orders`` is each order's first line
    with ``ts`` and ``line_count``. Raise unless every value is plainly sound and each order's
    lines agree, so the order fields need checking on first lines only."""
    frame = frame.with_columns(first=pl.col("order_id").ne_missing(pl.col("order_id").shift(1)))
    line_ok = [
        (pl.col("order_id").str.len_bytes() > 0).fill_null(False),
        (pl.col("sku").str.len_bytes() > 0).fill_null(False),
        _matches("quantity", _COUNT) & (pl.col("quantity").str.strip_chars_start("0") != ""),
        _matches("unit_price", _AMOUNT),
        pl.col("line_discount").is_null() | _matches("line_discount", _AMOUNT),
        # Every line of an order carries the same order fields as the line before it.
        *[pl.col("first") | pl.col(c).eq_missing(pl.col(c).shift(1)) for c in ORDER_FIELDS],
    ]
    lines_ok, order_count = frame.select(pl.all_horizontal(line_ok).all(), pl.col("first").sum()).row(0)
    if not lines_ok:
        raise NotForFastPath("a line value the fast checks do not vouch for (or an order whose lines differ)")
    if order_count != frame["order_id"].n_unique():
        raise NotForFastPath("an order whose lines are not on consecutive lines")
    starts = frame.with_row_index("at").filter(pl.col("first"))
    orders = starts.with_columns(
        line_count=(pl.col("at").shift(-1, fill_value=frame.height) - pl.col("at")).cast(pl.Int32),
        ts=pl.col("created_at")
        .str.replace(r"Z$", "+00:00")
        .str.replace(" ", "T", literal=True)
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_unit="us"),
    )
    order_ok = [
        _matches("email", _EMAIL),
        _matches("created_at", _TIMESTAMP) & pl.col("ts").is_not_null(),
        _matches("currency", _CURRENCY),
        *[_matches(c, _AMOUNT) for c in _ORDER_AMOUNTS],
        *[pl.col(c).is_null() | _matches(c, _AMOUNT) for c in _OPTIONAL_ORDER_AMOUNTS],
        pl.col("accepts_marketing").is_null() | _matches("accepts_marketing", _BOOLEAN),
    ]
    if not orders.select(pl.all_horizontal(order_ok).all()).item():
        raise NotForFastPath("an order value the fast checks do not vouch for")
    return frame, orders


@dataclass
class Batch:
    """Complete orders from one chunk, ready to COPY (as CSV once ``csv`` is called)."""

    order_ids: pl.Series
    digests: pl.Series
    days: list  # its orders' partition days
    frames: tuple[pl.DataFrame, pl.DataFrame] | None  # orders and lines, until written as CSV
    order_count: int
    line_count: int
    written: tuple[bytes, bytes] | None = None

    def csv(self) -> tuple[bytes, bytes]:
        """(orders, lines) as the CSV the COPYs read."""
        if self.written is None:
            orders, lines = self.frames
            self.written = (_csv(orders.select(FAST_ORDER_COLUMNS)), _csv(lines.select(LINE_COLUMNS)))
            self.frames = None
        return self.written


def _csv(frame: pl.DataFrame) -> bytes:
    """The frame as CSV, written as bytes (no text decoded and encoded again on the way)."""
    out = io.BytesIO()
    frame.write_csv(out, include_header=False)
    return out.getvalue()


def _digests(orders: pl.DataFrame, lines: pl.DataFrame, order_of_line: pl.Series) -> pl.Series:
    """Each order's digest: a hash of the values it is written with, its lines' included.

    polars keeps its hashes stable within a version only: after an upgrade the digests differ and
    a re-import compares values instead (slower, same result).
    """
    line_hashes = (
        lines.select(order=order_of_line, h=pl.struct("line_number", *_LINE_VALUES).hash(seed=1729))
        .group_by("order", maintain_order=True)
        .agg("h")["h"]
    )
    return (
        orders.select(pl.struct(*_ORDER_VALUES).alias("o"))
        .with_columns(lines=line_hashes)
        .select(pl.struct("o", "lines").hash(seed=1729).reinterpret(signed=True))
        .to_series()
    )


class Batches:
    """Chunks of the file -> batches of complete orders; also each email's latest consent answer."""

    def __init__(
        self, path: Path, names: list[str], header_bytes: int, *, source: str, tz: str, run_id: str | None
    ):
        self.path, self.names, self.header_bytes = path, names, header_bytes
        self.source, self.tz, self.run_id = source, tz, run_id
        self.seen = pl.Series("order_id", [], pl.String)
        self.highest = ""
        self.consent = pl.DataFrame(
            schema={
                "email": pl.String,
                "accepts_marketing": pl.Boolean,
                "created_at": pl.String,
                "ts": pl.Datetime("us", "UTC"),
                "order_id": pl.String,
            }
        )
        self.rows_read = 0
        # Write each batch's CSV in the worker while the last one is COPYed; a re-import skips
        # most batches unwritten, so the writer turns this off once it meets a stored order.
        self.write_ahead = True

    def __iter__(self) -> Iterator[Batch]:
        pending: pl.DataFrame | None = None
        for body in _chunks(self.path, self.header_bytes):
            frame = _parse(body, self.names, 2 + self.rows_read)
            self.rows_read += frame.height
            frame = frame if pending is None else pl.concat([pending, frame])
            # The last order may go on in the next chunk: hold it back.
            last = frame["order_id"][-1]
            held = frame.select(
                (pl.col("order_id") == last).fill_null(False).not_().cum_sum(reverse=True) == 0
            )
            pending = frame.filter(held.to_series())
            complete = frame.filter(~held.to_series())
            if complete.height:
                yield self._batch(*_split(complete))
        if pending is not None and pending.height:
            yield self._batch(*_split(pending))

    def _batch(self, lines: pl.DataFrame, orders: pl.DataFrame) -> Batch:
        ids = orders["order_id"]
        # Ids usually rise through a file; only when they do not, look for one seen before.
        if self.seen.len() and ids.min() <= self.highest and ids.is_in(self.seen.implode()).any():
            raise NotForFastPath("an order whose lines are not on consecutive lines")
        self.seen.append(ids)
        self.highest = max(self.highest, ids.max())
        orders = orders.with_columns(
            pl.col("email").str.to_lowercase(),
            pl.col("currency").str.to_uppercase(),
            pl.col("shipping", "tax").fill_null("0"),
            pl.col("accepts_marketing").str.contains(_TRUE),
            channel=pl.lit("website"),
            source=pl.lit(self.source),
            payload=pl.lit(None, pl.String),
            source_line=pl.col("line_no"),
            partition_date=pl.col("ts").dt.convert_time_zone(self.tz).dt.date(),
            _run_id=pl.lit(self.run_id, pl.String),
        )
        # Each line's order: its position among the orders (lines of an order are consecutive).
        order_of_line = lines["first"].cum_sum() - 1
        lines = lines.with_columns(
            line_number=(pl.col("line_no") - orders["line_no"].gather(order_of_line) + 1).cast(pl.Int32),
            discount=pl.col("line_discount").fill_null("0"),
            currency=orders["currency"].gather(order_of_line),
            partition_date=orders["partition_date"].gather(order_of_line),
            _run_id=pl.lit(self.run_id, pl.String),
        )
        self._keep_latest_consent(orders)
        orders = orders.with_columns(csv_digest=_digests(orders, lines, order_of_line))
        days = orders["partition_date"].unique().to_list()
        batch = Batch(ids, orders["csv_digest"], days, (orders, lines), orders.height, lines.height)
        if self.write_ahead:
            batch.csv()
        return batch

    def _keep_latest_consent(self, orders: pl.DataFrame) -> None:
        """Each email's latest order with a consent answer (older ones would not change the state)."""
        said = orders.filter(pl.col("accepts_marketing").is_not_null()).select(self.consent.columns)
        self.consent = (
            pl.concat([self.consent, said])
            .sort(["email", "ts", "order_id"], descending=True)
            .unique("email", keep="first", maintain_order=True)
        )


def _copy(conn: psycopg.Connection, table: str, columns, data: bytes) -> None:
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(data)


class _Writer:
    """Writes batches straight into the order tables while the file's orders are new; from the
    first stored one on, into temp tables merged at the end (``finish``).

    Every stored line has its order row, so the orders' primary key notices a stored order; a
    file of new orders (the usual history import) costs no staging at all. Replacing rows with a
    DELETE + COPY per chunk made each new row's unique check visit the rows just deleted; a
    set-based diff reads each side once and writes only what changed.
    """

    def __init__(self, conn: psycopg.Connection, log: ChangeLog):
        self.conn, self.log = conn, log
        self.seen_stored = self.staged = False

    def write(self, batch: Batch) -> None:
        if self.seen_stored and self._stored_as_they_are(batch):
            return
        if not self.staged:
            try:
                with self.conn.transaction():
                    _copy_batch(self.conn, batch, ORDERS_TABLE, LINES_TABLE)
                # Its orders and lines are new, under their orders' days.
                for table in (ORDERS_TABLE, LINES_TABLE):
                    self.log.add(table, batch.days)
                return
            except psycopg.errors.UniqueViolation:
                self.seen_stored = True
            if self._stored_as_they_are(batch):
                return
            for stage, table in ((_STAGED_ORDERS, ORDERS_TABLE), (_STAGED_LINES, LINES_TABLE)):
                self.conn.execute(
                    f"CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
                )
            self.staged = True
        _copy_batch(self.conn, batch, _STAGED_ORDERS, _STAGED_LINES)

    def _stored_as_they_are(self, batch: Batch) -> bool:
        """Is every order of the batch stored with the same digest (so with the same values)?"""
        # Ids go as one text split on the server: far cheaper than binding a list (no id holds a newline).
        same = self.conn.execute(
            f"SELECT count(*) FROM unnest(string_to_array(%s, E'\\n'), string_to_array(%s, ',')::bigint[])"
            f" AS b(order_id, digest) JOIN {ORDERS_TABLE} o USING (order_id) WHERE o.csv_digest = b.digest",
            ("\n".join(batch.order_ids.to_list()), ",".join(map(str, batch.digests.to_list()))),
        ).fetchone()[0]
        return same == batch.order_count

    def finish(self) -> None:
        if not self.staged:
            return
        conn = self.conn
        conn.execute(f"ANALYZE {_STAGED_ORDERS} (order_id)")
        conn.execute(f"ANALYZE {_STAGED_LINES} (order_id, line_number)")
        # Hash joins over the whole file stay in memory (restored when the merge is done).
        work_mem = conn.execute("SELECT current_setting('work_mem')").fetchone()[0]
        conn.execute("SELECT set_config('work_mem', '256MB', true)")
        for statement in _MERGE_SQL[:2]:
            conn.execute(statement)
        # The days the changed orders and lines were stored under, and the file's days for them.
        changed = f"SELECT order_id FROM {_CHANGED}"
        for table, staged in ((ORDERS_TABLE, _STAGED_ORDERS), (LINES_TABLE, _STAGED_LINES)):
            self.log.log_query(
                table,
                f"SELECT partition_date FROM {table} WHERE order_id IN ({changed})"
                f" UNION SELECT partition_date FROM {staged} WHERE order_id IN ({changed})",
            )
        for statement in _MERGE_SQL[2:]:
            conn.execute(statement)
        conn.execute("SELECT set_config('work_mem', %s, true)", (work_mem,))


ORDERS_TABLE, LINES_TABLE = "raw.website_orders", "raw.website_order_lines"
_STAGED_ORDERS, _STAGED_LINES = "_website_csv_orders", "_website_csv_lines"


def _differ(columns, a: str, b: str) -> str:
    """SQL: a row of ``a`` and one of ``b`` differ in ``columns`` (nulls compare as values)."""
    return f"({', '.join(f'{a}.{c}' for c in columns)}) IS DISTINCT FROM ({', '.join(f'{b}.{c}' for c in columns)})"


# What a row says, not who loaded it: an unchanged row keeps its _run_id and _loaded_at.
_ORDER_VALUES = [c for c in ORDER_COLUMNS if c not in ("order_id", "_run_id")]
FAST_ORDER_COLUMNS = (*ORDER_COLUMNS, "csv_digest")
_LINE_VALUES = [c for c in LINE_COLUMNS if c not in ("order_id", "line_number", "_run_id")]
_CHANGED = "_website_csv_changed"
_MERGE_SQL = (
    # The file's orders that are new or differ from what is stored: the order row, or one of its
    # lines. An order's stored lines are exactly its line_count lines (both import paths write
    # them so), so equal order rows and every file line found as it is mean nothing to write.
    f"CREATE TEMP TABLE {_CHANGED} ON COMMIT DROP AS"
    f" SELECT s.order_id FROM {_STAGED_ORDERS} s LEFT JOIN {ORDERS_TABLE} o USING (order_id)"
    f" WHERE o.order_id IS NULL OR {_differ(_ORDER_VALUES, 'o', 's')}"
    f" UNION SELECT n.order_id FROM {_STAGED_LINES} n LEFT JOIN {LINES_TABLE} l USING (order_id, line_number)"
    f" WHERE l.order_id IS NULL OR {_differ(_LINE_VALUES, 'l', 'n')}",
    f"ANALYZE {_CHANGED}",
    f"DELETE FROM {LINES_TABLE} WHERE order_id IN (SELECT order_id FROM {_CHANGED})",
    f"DELETE FROM {ORDERS_TABLE} WHERE order_id IN (SELECT order_id FROM {_CHANGED})",
    f"INSERT INTO {ORDERS_TABLE} ({', '.join(FAST_ORDER_COLUMNS)}) SELECT {', '.join(FAST_ORDER_COLUMNS)}"
    f" FROM {_STAGED_ORDERS} WHERE order_id IN (SELECT order_id FROM {_CHANGED})",
    f"INSERT INTO {LINES_TABLE} ({', '.join(LINE_COLUMNS)}) SELECT {', '.join(LINE_COLUMNS)}"
    f" FROM {_STAGED_LINES} WHERE order_id IN (SELECT order_id FROM {_CHANGED})",
    f"DROP TABLE {_STAGED_ORDERS}, {_STAGED_LINES}, {_CHANGED}",
)


def _copy_batch(conn: psycopg.Connection, batch: Batch, orders: str, lines: str) -> None:
    orders_csv, lines_csv = batch.csv()
    _copy(conn, orders, FAST_ORDER_COLUMNS, orders_csv)
    _copy(conn, lines, LINE_COLUMNS, lines_csv)


def _record_consent(conn: psycopg.Connection, consent: pl.DataFrame, source: str) -> None:
    """The rows ``consent.record_consent`` would write, in one statement."""
    if consent.is_empty():
        return
    conn.execute(
        "CREATE TEMP TABLE _website_consent (email text, accepts_marketing boolean, created_at timestamptz,"
        " order_id text) ON COMMIT DROP"
    )
    columns = ("email", "accepts_marketing", "created_at", "order_id")
    _copy(conn, "_website_consent", columns, consent.select(columns).write_csv(include_header=False).encode())
    conn.execute(
        "INSERT INTO ops.consent (email, channel, consented, source, recorded_at, evidence)"
        " SELECT email, 'email', accepts_marketing, 'website.checkout', created_at,"
        " jsonb_build_object('order_id', order_id, 'via', %s::text) FROM _website_consent"
        " ON CONFLICT DO NOTHING",
        (source,),
    )
    conn.execute("DROP TABLE _website_consent")


def _set_keys_aside_if_empty(conn: psycopg.Connection) -> bool:
    """Into empty order tables (a first history import) the rows go without the keys, which are
    built once afterwards: a sorted build costs a fraction of a million unique-index insertions.

    The tables are locked until commit (readers of the still empty tables wait for the import).
    No order can be stored twice meanwhile: every writer holds ``ORDER_LOCK``, and an order id
    met twice in the file sends it to the checked path (``Batches``).
    """
    empty = "SELECT NOT EXISTS (SELECT FROM raw.website_orders) AND NOT EXISTS (SELECT FROM raw.website_order_lines)"
    if not conn.execute(empty).fetchone()[0]:
        return False
    conn.execute(f"LOCK TABLE {ORDERS_TABLE}, {LINES_TABLE} IN ACCESS EXCLUSIVE MODE")
    if not conn.execute(empty).fetchone()[0]:  # a row committed before the lock (none do: defence)
        return False
    conn.execute(
        f"SELECT marts.set_aside_indexes('{ORDERS_TABLE}'), marts.set_aside_indexes('{LINES_TABLE}')"
    )
    return True


def _restore_keys(conn: psycopg.Connection) -> None:
    work_mem = conn.execute("SELECT current_setting('maintenance_work_mem')").fetchone()[0]
    conn.execute("SELECT set_config('maintenance_work_mem', '256MB', true)")
    try:
        with conn.transaction():
            conn.execute(
                f"SELECT marts.restore_indexes('{ORDERS_TABLE}'), marts.restore_indexes('{LINES_TABLE}')"
            )
    except psycopg.errors.UniqueViolation:
        raise NotForFastPath("an order or line stored twice") from None
    conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (work_mem,))


def import_file(
    conn: psycopg.Connection,
    path: Path,
    columns: list[str | None],
    header_bytes: int,
    *,
    source: str,
    tz: str,
    run_id: str | None = None,
) -> LoadResult:
    """Import ``path`` (header already read: ``columns``, ``header_bytes``) or raise ``NotForFastPath``.

    Run it inside a transaction (or savepoint) the caller rolls back on ``NotForFastPath``.
    A worker thread prepares the next batch while this one is written: polars and the server
    each keep a core busy.
    """
    names = [c or f"_ignored_{i}" for i, c in enumerate(columns)]
    batches = Batches(path, names, header_bytes, source=source, tz=tz, run_id=run_id)
    result = LoadResult()
    conn.execute(ORDER_LOCK)
    keys_aside = _set_keys_aside_if_empty(conn)
    log = ChangeLog(conn, ORDERS_TABLE, LINES_TABLE)  # the days written, for the incremental marts
    writer = _Writer(conn, log)
    with ThreadPoolExecutor(1) as worker:
        pending = iter(batches)
        upcoming = worker.submit(next, pending, None)
        while (batch := upcoming.result()) is not None:
            upcoming = worker.submit(next, pending, None)
            writer.write(batch)
            batches.write_ahead = not writer.seen_stored
            result.orders += batch.order_count
            result.lines += batch.line_count
    writer.finish()
    if keys_aside:
        _restore_keys(conn)
    log.close()
    _record_consent(conn, batches.consent, source)
    result.rows_read = batches.rows_read
    return result
