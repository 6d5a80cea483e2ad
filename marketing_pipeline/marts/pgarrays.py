"""Numeric columns in and out of PostgreSQL as numpy arrays through binary COPY.

Binary COPY of fixed-width columns without NULLs is a fixed-size record per row (a field count, then
a length and a big-endian value per column), so numpy reads and writes it as one structured array:
no text formatting or parsing (``to_csv`` of 140,000 rows x 10 floats takes seconds), and floats
cross exactly.
"""

from __future__ import annotations

import numpy as np
import psycopg

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
TYPES = {"int4": ">i4", "int8": ">i8", "float8": ">f8"}


def _record(types: list[str]) -> np.dtype:
    fields = [("fields", ">i2")]
    for n, pg_type in enumerate(types):
        fields += [(f"len{n}", ">i4"), (f"col{n}", TYPES[pg_type])]
    return np.dtype(fields)


def read(conn: psycopg.Connection, query: str, columns: dict[str, str]) -> dict[str, np.ndarray]:
    """``query``'s rows as arrays; ``columns`` names its columns in order with their types
    (int4, int8, float8). The query must cast to those types and return no NULL."""
    with conn.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
        data = b"".join(bytes(chunk) for chunk in copy)
    if not data.startswith(HEADER) or not data.endswith(TRAILER):
        raise ValueError("unexpected binary COPY framing")
    rows = np.frombuffer(data[len(HEADER) : -len(TRAILER)], dtype=_record(list(columns.values())))
    if len(rows) and (np.any(rows["fields"] != len(columns)) or any(
        np.any(rows[f"len{n}"] != np.dtype(TYPES[t]).itemsize) for n, t in enumerate(columns.values())
    )):  # fmt: skip
        raise ValueError("binary COPY row does not match the declared columns (a NULL?)")
    return {name: rows[f"col{n}"].astype(TYPES[t].lstrip(">")) for n, (name, t) in enumerate(columns.items())}


def write(conn: psycopg.Connection, table: str, columns: dict[str, tuple[str, np.ndarray]]) -> None:
    """COPY arrays into ``table``: ``columns`` maps each column name to (type, values). NaN floats
    arrive as float8 NaN (turn them into NULL in SQL where they mean "none")."""
    types = [t for t, _ in columns.values()]
    size = len(next(iter(columns.values()))[1])
    rows = np.empty(size, dtype=_record(types))
    rows["fields"] = len(columns)
    for n, (pg_type, values) in enumerate(columns.values()):
        rows[f"len{n}"] = np.dtype(TYPES[pg_type]).itemsize
        rows[f"col{n}"] = values
    names = ", ".join(columns)
    with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(HEADER + rows.tobytes() + TRAILER)
