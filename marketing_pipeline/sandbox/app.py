"""One ASGI app serving every vendor emulator under its path prefix, with optional faults."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import date

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from marketing_pipeline.sandbox import faults as fault_spec
from marketing_pipeline.sandbox.world import World

# prefix -> "module:Class"; each class takes the World and has ``app()``. One line per vendor.
EMULATORS = {
    "tiktok-shop-content": "marketing_pipeline.sandbox.tiktok_content.emulator:TikTokContentEmulator",
    "ga4": "marketing_pipeline.sandbox.ga4.emulator:GA4Emulator",
    "tiktok-shop": "marketing_pipeline.sandbox.tiktok_shop.emulator:TikTokShopEmulator",
    "sendgrid": "marketing_pipeline.sandbox.sendgrid.emulator:SendGridEmulator",
    "customerio": "marketing_pipeline.sandbox.customerio.emulator:CustomerIoEmulator",
    "klaviyo": "marketing_pipeline.sandbox.klaviyo.emulator:KlaviyoEmulator",
    "slack": "marketing_pipeline.sandbox.slack.emulator:SlackEmulator",
}


@dataclass
class Sandbox:
    world: World
    emulators: dict[str, object] = field(default_factory=dict)
    injectors: dict[str, fault_spec.FaultInjector] = field(default_factory=dict)
    app: Starlette | None = None


def build(
    seed: int = 7,
    scale: float = 1.0,
    faults: str | None = None,
    today: date | None = None,
    world: World | None = None,
) -> Sandbox:
    world = world or World(seed=seed, scale=scale, today=today)
    spec = fault_spec.parse(faults)
    unknown = set(spec) - set(EMULATORS) - {"*"}
    if unknown:
        raise ValueError(f"fault spec names unknown vendors {sorted(unknown)}; known: {sorted(EMULATORS)}")
    box = Sandbox(world=world)
    routes = [Route("/", lambda request: JSONResponse({"brand": world.brand, "vendors": sorted(EMULATORS)}))]
    for prefix, target in EMULATORS.items():
        module, _, cls = target.partition(":")
        emulator = getattr(importlib.import_module(module), cls)(world)
        box.emulators[prefix] = emulator
        app = emulator.app()
        vendor_faults = spec.get(prefix) or spec.get("*")
        if vendor_faults:
            app = box.injectors.setdefault(prefix, fault_spec.FaultInjector(app, vendor_faults, seed=seed))
        routes.append(Mount(f"/{prefix}", app=app))
    box.app = Starlette(routes=routes)
    return box
