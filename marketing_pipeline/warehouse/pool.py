"""Pooled connections for long-lived servers (the web app): one ``psycopg_pool`` per warehouse URL.

The URL is looked up on every call (tests point the same server at a new database per test):
the settings it comes from are parsed once per distinct environment, not per request. The few
most recent URLs keep their pools, older ones are closed.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from marketing_pipeline.warehouse.engine import database_url, libpq_url

MAX_SIZE = 16  # above the 8-16 requests a worker serves at once; PostgreSQL's default allows 100
_KEPT = 2
_pools: OrderedDict[str, ConnectionPool] = OrderedDict()
_lock = threading.Lock()
_URL_FROM = ("MARKETING_DATABASE_URL", "MARKETING_STATE_DIR", "MARKETING_SANDBOX")
_urls: dict[tuple[str | None, ...], str] = {}


def _warehouse_url() -> str:
    key = tuple(os.environ.get(name) for name in _URL_FROM)
    url = _urls.get(key)
    if url is None:
        if len(_urls) > 16:
            _urls.clear()
        url = _urls[key] = libpq_url(database_url())
    return url


def _pool(url: str | None) -> ConnectionPool:
    url = libpq_url(url) if url else _warehouse_url()
    with _lock:
        pool = _pools.get(url)
        if pool is None:
            pool = ConnectionPool(
                url, min_size=1, max_size=MAX_SIZE, kwargs={"autocommit": True}, name="warehouse", open=True
            )
            _pools[url] = pool
            while len(_pools) > _KEPT:
                _pools.popitem(last=False)[1].close(timeout=1)
        else:
            _pools.move_to_end(url)
        return pool


@contextmanager
def pooled(url: str | None = None, *, transaction: bool = False) -> Iterator[psycopg.Connection]:
    """An autocommit connection from the pool; with ``transaction=True`` the block is one transaction."""
    with _pool(url).connection() as conn:
        if transaction:
            with conn.transaction():
                yield conn
        else:
            yield conn


# Async pools belong to the event loop that opened them: one per (URL, loop). A loop that has
# closed without closing its pools (a server run without lifespan) leaves them to be dropped here.
_apools: dict[tuple[str, int], tuple[AsyncConnectionPool, asyncio.AbstractEventLoop]] = {}


async def _apool(url: str) -> AsyncConnectionPool:
    loop = asyncio.get_running_loop()
    key = (url, id(loop))
    entry = _apools.get(key)
    if entry is not None and entry[1] is loop:
        return entry[0]
    for k, (_, lp) in list(_apools.items()):  # list(): servers on other threads share the dict
        if lp.is_closed() or (k[1] == id(loop) and lp is not loop):
            _apools.pop(k, None)
    pool = AsyncConnectionPool(
        url, min_size=1, max_size=MAX_SIZE, kwargs={"autocommit": True}, name="warehouse-async", open=False
    )
    await pool.open()
    entry = _apools.setdefault(key, (pool, loop))
    if entry[0] is not pool:  # another request opened one meanwhile
        await pool.close()
        return entry[0]
    mine = [k for k, (_, lp) in list(_apools.items()) if lp is loop and k != key]
    for k in mine[: max(0, len(mine) + 1 - _KEPT)]:  # this loop's older pools
        await _apools.pop(k)[0].close(timeout=1)
    return pool


@asynccontextmanager
async def apooled(url: str | None = None) -> AsyncIterator[psycopg.AsyncConnection]:
    """An autocommit async connection from this event loop's pool (no thread hop per request)."""
    pool = await _apool(libpq_url(url) if url else _warehouse_url())
    async with pool.connection() as conn:
        yield conn


async def aclose_loop() -> None:
    """Close the async pools of the running loop (the web app's shutdown)."""
    loop = asyncio.get_running_loop()
    for k in [k for k, (_, lp) in list(_apools.items()) if lp is loop]:
        await _apools.pop(k)[0].close()


def close_all() -> None:
    with _lock:
        while _pools:
            _pools.popitem()[1].close()
