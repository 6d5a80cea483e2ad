"""Sandbox mode for a command: serve the emulators and point every vendor variable at them.

Only the CLI calls this, and only when asked (``demo``, ``ui --sandbox``, ``MARKETING_SANDBOX=1``).
Every vendor then talks to the sandbox, whatever keys the environment held, so generated and real
data never meet; the warehouse it writes to is a sandbox warehouse (``warehouse.mode``). The
deployment serves the sandbox's three brands (``sandbox/brands.yaml``), whatever brands file the
environment named: the default brand at the root, the others under ``/brands/<id>``.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket

import httpx

from marketing_pipeline.sandbox import brands as sandbox_brands
from marketing_pipeline.sandbox import credentials
from marketing_pipeline.sandbox.server import BackgroundServer

log = logging.getLogger(__name__)


def _serving_sandbox(url: str) -> bool:
    try:
        return "brand" in httpx.get(url + "/", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False


def start(
    *,
    port: int = credentials.DEFAULT_PORT,
    faults: str | None = None,
    reuse: bool = True,
) -> str:
    """Point the vendor variables at a sandbox and return its URL.

    A sandbox this process inherited (a parent already set its variables) or one already serving on
    ``port`` (``make ui``'s, for a Celery worker started beside it) is reused, so every process of a
    deployment sees one sandbox; otherwise one is started here, for the life of this process.
    ``reuse=False`` (the demo, which needs emulators as fresh as its own state) always starts one,
    on another port when ``port`` is taken.
    """
    inherited = os.environ.get("KLAVIYO_BASE_URL", "").removesuffix("/klaviyo")
    if (
        reuse
        and os.environ.get("KLAVIYO_API_KEY") == credentials.KLAVIYO_API_KEY
        and _serving_sandbox(inherited)
    ):
        return inherited
    url = f"http://127.0.0.1:{port}"
    if not reuse or not _serving_sandbox(url):
        app = sandbox_brands.build_all(faults=faults)["app"]
        with socket.socket() as s:
            taken = s.connect_ex(("127.0.0.1", port)) == 0
        server = BackgroundServer(app, port=0 if taken else port).start()
        atexit.register(server.stop)
        url = server.url
    os.environ.update(environ(url))
    log.info("sandbox serving on %s", url)
    return url


def environ(url: str) -> dict[str, str]:
    """Every brand's variables pointing at the sandbox at ``url``, and the sandbox's brands file."""
    return {**sandbox_brands.environ(base_url=url), "MARKETING_BRANDS_FILE": str(sandbox_brands.BRANDS_FILE)}
