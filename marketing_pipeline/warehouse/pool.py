"""Pooled connections for long-lived servers (the web app): one ``psycopg_pool`` per warehouse URL,
so one per brand (each brand's warehouse is a database of its own).

The URL is looked up on every call (tests point the same server at a new database per test):
the settings it comes from are parsed once per distinct environment, not per request. Every
brand's pool is kept (and a couple more), older ones are closed. The connections of all the
pools together stay under ``MAX_TOTAL``: each pool may open ``MAX_TOTAL // brands`` (at least
``MIN_SIZE_PER_BRAND``). Another brand's warehouse is created, migrated and claimed for it the
first time this process uses it (``WarehouseResource.prepare``).
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

from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.warehouse.engine import database_url, libpq_url

MAX_SIZE = 16  # above the 8-16 requests a worker serves at once; PostgreSQL's default allows 100
MAX_TOTAL = 48  # every brand's pool together, per process (sync and async pools each)
MIN_SIZE_PER_BRAND = 4
_KEPT = 2  # pools kept beyond one per brand
_pools: OrderedDict[str, ConnectionPool] = OrderedDict()
_lock = threading.Lock()
_URL_FROM = ("MARKETING_DATABASE_URL", "MARKETING_STATE_DIR", "MARKETING_SANDBOX", brand_settings.BRANDS_FILE)
_urls: dict[tuple[str | None, ...], str] = {}
_prepared: set[tuple[str, str]] = set()  # (url, brand id) brought up by this process
_prepare_lock = threading.Lock()


def _brand_count() -> int:
    return len(brand_settings.load_cached())


def _limits() -> tuple[int, int]:
    """(pools kept, connections per pool) for the brands of the current brands file."""
    brands = max(1, _brand_count())
    return brands + _KEPT, min(MAX_SIZE, max(MIN_SIZE_PER_BRAND, MAX_TOTAL // brands))


def _url_key(brand: Brand | None) -> tuple:
    own = os.environ.get(brand.warehouse_variable) if brand is not None and not brand.is_default else None
    return (*(os.environ.get(name) for name in _URL_FROM), brand.id if brand else None, own)


def brand_url(brand: Brand | None = None) -> str:
    """The libpq URL of ``brand``'s warehouse (None: the default brand's), brought up on first use."""
    key = _url_key(brand)
    url = _urls.get(key)
    if url is None:
        if len(_urls) > 64:
            _urls.clear()
        url = libpq_url(database_url(brand=brand))
        if brand is not None and not brand.is_default:
            _prepare(url, brand)
        _urls[key] = url
    return url


def _prepare(url: str, brand: Brand) -> None:
    from marketing_pipeline.warehouse.resource import WarehouseResource

    with _prepare_lock:
        if (url, brand.id) not in _prepared:
            WarehouseResource(brand_id=brand.id).prepare()
            _prepared.add((url, brand.id))


def _warehouse_url() -> str:
    return brand_url(None)


def _target(url: str | None, brand: Brand | None) -> str:
    if url and brand is not None:
        raise ValueError("pass a URL or a brand, not both")
    return libpq_url(url) if url else brand_url(brand)


def _pool(url: str | None, brand: Brand | None = None) -> ConnectionPool:
    url = _target(url, brand)
    kept, size = _limits()
    with _lock:
        pool = _pools.get(url)
        if pool is None:
            pool = ConnectionPool(
                url, min_size=1, max_size=size, kwargs={"autocommit": True}, name="warehouse", open=True
            )
            _pools[url] = pool
            while len(_pools) > kept:
                _pools.popitem(last=False)[1].close(timeout=1)
        else:
            _pools.move_to_end(url)
        return pool


@contextmanager
def pooled(
    url: str | None = None, *, transaction: bool = False, brand: Brand | None = None
) -> Iterator[psycopg.Connection]:
    """An autocommit connection from the pool of ``url`` or of ``brand``'s warehouse (neither: the
    default brand's); with ``transaction=True`` the block is one transaction."""
    with _pool(url, brand).connection() as conn:
        if transaction:
            with conn.transaction():
                yield conn
        else:
            yield conn


# Async pools belong to the event loop that opened them: one per (URL, loop). A loop that has
# closed without closing its pools (a server run without lifespan) leaves them to be dropped here.
_apools: dict[tuple[str, int], tuple[AsyncConnectionPool, asyncio.AbstractEventLoop]] = {}


async def _apool(url: str) -> AsyncConnectionPool:
    kept, size = _limits()
    loop = asyncio.get_running_loop()
    key = (url, id(loop))
    entry = _apools.get(key)
    if entry is not None and entry[1] is loop:
        return entry[0]
    for k, (_, lp) in list(_apools.items()):  # list(): servers on other threads share the dict
        if lp.is_closed() or (k[1] == id(loop) and lp is not loop):
            _apools.pop(k, None)
    pool = AsyncConnectionPool(
        url, min_size=1, max_size=size, kwargs={"autocommit": True}, name="warehouse-async", open=False
    )
    await pool.open()
    entry = _apools.setdefault(key, (pool, loop))
    if entry[0] is not pool:  # another request opened one meanwhile
        await pool.close()
        return entry[0]
    mine = [k for k, (_, lp) in list(_apools.items()) if lp is loop and k != key]
    for k in mine[: max(0, len(mine) + 1 - kept)]:  # this loop's older pools
        await _apools.pop(k)[0].close(timeout=1)
    return pool


@asynccontextmanager
async def apooled(
    url: str | None = None, *, brand: Brand | None = None
) -> AsyncIterator[psycopg.AsyncConnection]:
    """An autocommit async connection from this event loop's pool of ``url`` or of ``brand``'s
    warehouse (no thread hop per request; a brand's first use brings its warehouse up)."""
    if url is None and brand is not None and not brand.is_default and _url_key(brand) not in _urls:
        target = await asyncio.to_thread(brand_url, brand)  # first use may create and migrate
    else:
        target = _target(url, brand)
    pool = await _apool(target)
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
