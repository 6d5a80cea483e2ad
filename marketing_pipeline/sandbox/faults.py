"""Fault injection for the emulators: 429 with Retry-After, 500/503, latency, dropped connections.

A spec names faults per vendor prefix, e.g.::

    tiktok-shop:429=0.2,500=0.1,drop=0.05,latency=0.3;klaviyo:429=0.5,retry_after=1

Rates are probabilities drawn from a seeded generator, so a run's fault sequence repeats.
``latency`` is seconds added to every response; ``retry_after`` is what a 429 asks for.
A vendor named ``*`` applies to all of them.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

KNOWN = {"429", "500", "503", "drop", "latency", "retry_after"}


@dataclass(frozen=True)
class Faults:
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    latency: float = 0.0
    retry_after: float = 1.0

    @property
    def any(self) -> bool:
        return any((self.rate_429, self.rate_500, self.rate_503, self.rate_drop, self.latency))


def parse(spec: str | None) -> dict[str, Faults]:
    """Parse a fault spec into {vendor prefix: Faults}; raise ValueError naming a bad part."""
    out: dict[str, Faults] = {}
    for part in filter(None, (p.strip() for p in (spec or "").split(";"))):
        vendor, sep, rest = part.partition(":")
        if not sep or not vendor:
            raise ValueError(f"fault spec {part!r}: expected 'vendor:kind=value,...'")
        values: dict[str, float] = {}
        for item in filter(None, (i.strip() for i in rest.split(","))):
            kind, eq, raw = item.partition("=")
            if not eq or kind not in KNOWN:
                raise ValueError(f"fault spec {item!r}: kinds are {sorted(KNOWN)}")
            try:
                values[kind] = float(raw)
            except ValueError:
                raise ValueError(f"fault spec {item!r}: {raw!r} is not a number") from None
        out[vendor.strip()] = Faults(
            rate_429=values.get("429", 0.0),
            rate_500=values.get("500", 0.0),
            rate_503=values.get("503", 0.0),
            rate_drop=values.get("drop", 0.0),
            latency=values.get("latency", 0.0),
            retry_after=values.get("retry_after", 1.0),
        )
    return out


class FaultInjector:
    """ASGI middleware around one vendor's emulator."""

    def __init__(self, app: ASGIApp, faults: Faults, seed: int = 0):
        self.app, self.faults = app, faults
        self.rng = random.Random(seed)
        self.injected: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.faults.any:
            await self.app(scope, receive, send)
            return
        f = self.faults
        if f.latency:
            await asyncio.sleep(f.latency)
        roll = self.rng.random()
        for kind, rate in (
            ("429", f.rate_429),
            ("500", f.rate_500),
            ("503", f.rate_503),
            ("drop", f.rate_drop),
        ):
            if roll < rate:
                self.injected[kind] = self.injected.get(kind, 0) + 1
                await self._fail(kind, send)
                return
            roll -= rate
        await self.app(scope, receive, send)

    async def _fail(self, kind: str, send: Send) -> None:
        if kind == "drop":
            # Promise a body, send half of it, and stop: the client sees the connection cut mid-response.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"partial": tr', "more_body": True})
            raise ConnectionAbortedError("sandbox fault: dropped connection")
        status = int(kind)
        headers = [(b"content-type", b"application/json")]
        if status == 429:
            headers.append((b"retry-after", str(int(self.faults.retry_after)).encode()))
        body = b'{"code": %d, "message": "sandbox fault injection"}' % status
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
