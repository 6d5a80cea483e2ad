"""The dashboard's sign-in limit holds across web processes: two separate ``uvicorn`` processes
on one database enforce one count (a per-process count would allow five guesses at each)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from marketing_pipeline.web import auth

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "two processes one limit"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_processes(warehouse_url):
    env = {
        **os.environ,
        "MARKETING_DATABASE_URL": warehouse_url,
        "DASHBOARD_PASSWORD": PASSWORD,
        "PYTHONPATH": str(ROOT),
    }
    procs, urls = [], []
    try:
        for _ in range(2):
            port = _free_port()
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "marketing_pipeline.web.app:create_app",
                        "--factory",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                    ],
                    cwd=ROOT,
                    env=env,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                raise RuntimeError(f"{url} did not start")
        yield urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)


def test_guesses_spread_over_two_processes_share_one_limit(two_processes, conn):
    a, b = two_processes
    codes = [
        httpx.post(f"{(a, b)[i % 2]}/login", data={"password": f"guess-{i}"}).status_code for i in range(8)
    ]
    assert codes == [401] * auth.MAX_FAILURES_PER_CLIENT + [429] * (8 - auth.MAX_FAILURES_PER_CLIENT)
    for url in (a, b):  # both processes refuse, even the right password, until the window passes
        assert httpx.post(f"{url}/login", data={"password": PASSWORD}).status_code == 429


def test_a_concurrent_burst_on_two_processes_gets_no_more_than_the_limit(two_processes, conn):
    """Guesses in flight at once: each attempt is taken before the password is checked."""
    a, b = two_processes

    def guess(i: int) -> int:
        return httpx.post(f"{(a, b)[i % 2]}/login", data={"password": f"burst-{i}"}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(guess, range(24)))
    assert codes.count(401) == auth.MAX_FAILURES_PER_CLIENT
    assert codes.count(429) == 24 - auth.MAX_FAILURES_PER_CLIENT
    assert conn.execute(
        "SELECT attempts FROM ops.login_throttle WHERE bucket = 'client:127.0.0.1'"
    ).fetchone() == (auth.MAX_FAILURES_PER_CLIENT,)
