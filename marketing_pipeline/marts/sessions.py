"""One database session per lane of the model's step, each builder a transaction of its own on it.

A new connection per builder started a server backend each time, whose first statements read the
catalog into empty caches and set up its temporary schema again: 10-40 ms before each builder's SQL,
most of what a daily refresh's small builders cost. A builder's settings are transaction-local and
its temporary tables go at commit (``rebuild.py`` runs every builder in one transaction), so
nothing of one builder reaches the next on the same session.

Sessions are opened by the lane that first needs one, so an unreachable warehouse fails that
builder at once with the driver's own message (a pool would wait and time out instead).
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


class LaneSessions:
    def __init__(self, url: str):
        self._url = url
        self._mine = threading.local()  # the session of the lane (thread) asking
        self._opened: list[psycopg.Connection] = []
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A transaction on this lane's session: committed when the block ends, rolled back if it
        raises (or by the block itself, as a builder whose audit failed does)."""
        conn = getattr(self._mine, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self._url, prepare_threshold=None)  # no plans kept across builders
            self._mine.conn = conn
            with self._lock:
                self._opened.append(conn)
        try:
            yield conn
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        conn.commit()

    def close(self) -> None:
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
