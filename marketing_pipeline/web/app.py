"""The Starlette app behind ``marketing-pipeline web``.

Each part of the project contributes routes from its own module, each exposing ``routes: list``:
``PUBLIC_MODULES`` face the internet (intake, webhooks, recovery links), ``DASHBOARD_MODULES``
are the marketers' pages behind a login. ``create_app(public=..., dashboard=...)`` serves either
or both, so the dashboard can listen on a private address only (``marketing-pipeline web
--public-only`` / ``--dashboard-only``). Shared limits live here: request bodies over
``MAX_BODY_BYTES`` are refused with 413 before they are read whole.
"""

from __future__ import annotations

import contextlib
import importlib

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from marketing_pipeline.warehouse.pool import aclose_loop, close_all

MAX_BODY_BYTES = 256 * 1024

PUBLIC_MODULES: list[str] = [
    "marketing_pipeline.web.intake",
    "marketing_pipeline.web.recovery_links",
    "marketing_pipeline.sources.customerio.webhooks",
]
DASHBOARD_MODULES: list[str] = ["marketing_pipeline.web.dashboard"]


class BodySizeLimit:
    """413 for bodies over the limit, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length and length.isdigit() and int(length) > self.limit:
            await JSONResponse({"error": f"body over {self.limit} bytes"}, status_code=413)(
                scope, receive, send
            )
            return
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await JSONResponse({"error": f"body over {self.limit} bytes"}, status_code=413)(
                scope, receive, send
            )


class BodyTooLarge(Exception):
    pass


async def health(request):
    return PlainTextResponse("ok")


def public_app() -> Starlette:
    """Factories by name, for uvicorn's ``--factory`` with several worker processes."""
    return create_app(dashboard=False)


def dashboard_app() -> Starlette:
    return create_app(public=False)


def create_app(*, public: bool = True, dashboard: bool = True) -> Starlette:
    routes = [Route("/healthz", health)]
    for name in (PUBLIC_MODULES if public else []) + (DASHBOARD_MODULES if dashboard else []):
        routes.extend(importlib.import_module(name).routes)
    return Starlette(routes=routes, middleware=[Middleware(BodySizeLimit)], lifespan=_lifespan)


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette):
    yield
    await aclose_loop()  # the pooled warehouse connections
    close_all()
