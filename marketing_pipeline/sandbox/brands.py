"""Three generated brands of different sizes and time zones (``sandbox/brands.yaml``).

Each brand is a ``World`` of its own (seed, scale, zone, name from the file's ``x-sandbox`` and
brand fields). The default brand is served exactly as the single-brand sandbox is, at the root,
under today's variables and credentials; every other brand's emulators answer under
``/brands/<id>/`` and its variables (``<ID>_KLAVIYO_API_KEY``, … as settings/brands.py names them)
point there. The emulators keep their URLs and accept the same sandbox credentials: the route,
not the key, picks the brand's world.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount

from marketing_pipeline.sandbox import credentials
from marketing_pipeline.sandbox.app import build
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand, Brands

BRANDS_FILE = Path(__file__).with_name("brands.yaml")


def load() -> Brands:
    import yaml

    return brand_settings.parse(yaml.safe_load(BRANDS_FILE.read_text(encoding="utf-8")), source=BRANDS_FILE)


def world(brand: Brand, today: date | None = None) -> World:
    spec = brand.extensions.get("x-sandbox") or {}
    return World(
        seed=int(spec.get("seed", 7)),
        scale=float(spec.get("scale", 1.0)),
        today=today,
        brand=brand.name,
        brand_address=brand.address,
        store_url=brand.store_url,
        timezone=brand.timezone,
        currency=brand.currency,
    )


def build_all(brands: Brands | None = None, today: date | None = None, faults: str | None = None) -> dict:
    """Brand id -> its Sandbox, and ``app``: the default brand at the root, the others under /brands/<id>."""
    brands = brands or load()
    boxes = {b.id: build(world=world(b, today), faults=faults) for b in brands}
    default = boxes[brands.default.id]
    routes = [Mount(f"/brands/{b.id}", app=boxes[b.id].app) for b in brands if not b.is_default]
    app = Starlette(routes=[*routes, Mount("/", app=default.app)])
    return {"boxes": boxes, "app": app}


def brand_url(brand: Brand, base_url: str) -> str:
    return base_url.rstrip("/") if brand.is_default else f"{base_url.rstrip('/')}/brands/{brand.id}"


def environ(brands: Brands | None = None, base_url: str = credentials.DEFAULT_URL) -> dict[str, str]:
    """Every brand's vendor variables pointing at its own worlds; the default brand's are today's."""
    brands = brands or load()
    env = credentials.environ(base_url)
    for b in brands:
        if b.is_default:
            continue
        standard = credentials.environ(brand_url(b, base_url))
        for key in b.vendors:
            for std, own in b.variables[key].items():
                if std in standard:
                    env[own] = standard[std]
        # the web app's keys are the brand's own: its storefront's write key, its workspace's signing key
        env[b.variable("WEBSITE_WRITE_KEY")] = website_write_key(b)
        if "customerio" in b.vendors:
            env[b.variable("CUSTOMERIO_WEBHOOK_SIGNING_KEY")] = (
                f"{credentials.CUSTOMERIO_WEBHOOK_SIGNING_KEY}-{b.id}"
            )
    return env


def website_write_key(brand: Brand) -> str:
    """The sandbox storefront's write key of ``brand`` (the default brand's is today's)."""
    return credentials.WEBSITE_WRITE_KEY if brand.is_default else f"wk_sandbox_{brand.id}"
