"""A throwaway database on the warehouse's server, so benchmarks never touch real data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from marketing_pipeline.warehouse.engine import libpq_url


def server_url() -> str:
    """The server a benchmark runs on: BENCH_DATABASE_URL, MARKETING_TEST_DATABASE_URL or the warehouse's."""
    from marketing_pipeline.warehouse import database_url

    return (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("MARKETING_TEST_DATABASE_URL")
        or database_url()
    )


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    info = conninfo_to_dict(libpq_url(server_url))
    name = f"mp_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_conninfo(**{**info, "dbname": "postgres"})
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_conninfo(**{**info, "dbname": name})
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
