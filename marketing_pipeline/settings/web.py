"""The web app's secrets, read per request so a rotated key takes effect without a restart.

Each brand has its own: the storefront write key and the Customer.io signing key are read from the
brand's variable (``Brand.variable``: ``WEBSITE_WRITE_KEY`` for the default brand,
``NORTHWIND_WEBSITE_WRITE_KEY`` for brand ``northwind``), TikTok Shop's app key and secret from the
brand's TikTok Shop credentials (settings/brands.py).
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand

WEBSITE_WRITE_KEY = "WEBSITE_WRITE_KEY"  # the storefront's publishable key for cart events
CUSTOMERIO_WEBHOOK_SIGNING_KEY = "CUSTOMERIO_WEBHOOK_SIGNING_KEY"


def _brand(brand: Brand | None) -> Brand:
    return brand if brand is not None else brand_settings.load_cached().default


def _read(brand: Brand | None, name: str) -> str:
    return os.environ.get(_brand(brand).variable(name), "").strip()


def website_write_key(brand: Brand | None = None) -> str:
    """Empty when unset: the intake then refuses every post for the brand (no built-in default key)."""
    return _read(brand, WEBSITE_WRITE_KEY)


def customerio_webhook_signing_key(brand: Brand | None = None) -> str:
    return _read(brand, CUSTOMERIO_WEBHOOK_SIGNING_KEY)


def tiktok_app(brand: Brand | None = None) -> tuple[str, str]:
    """(app key, app secret) that sign the brand's TikTok Shop webhooks; empty for a brand without it."""
    b = _brand(brand)
    if "tiktok_shop" not in b.vendors:
        return "", ""
    values = b.vendor("tiktok_shop").values()
    return values.get("app_key", ""), values.get("app_secret", "")


@dataclass(frozen=True)
class WriteKeyMatch:
    brand: Brand | None  # the brand whose key was presented; None: no brand's
    configured: tuple[str, ...]  # the variables of the brands that have a key


def brand_for_write_key(presented: str) -> WriteKeyMatch:
    """The brand whose write key ``presented`` is. Every brand's key is compared (in constant time
    each), so timing tells nothing about which brand exists. Two brands configured with one key
    is refused (``SettingsError``): a post must never be able to land in either."""
    brands = brand_settings.load_cached()
    keys = {b.id: website_write_key(b) for b in brands}
    owners: dict[str, list[str]] = {}
    for bid, key in keys.items():
        if key:
            owners.setdefault(key, []).append(bid)
    shared = [ids for ids in owners.values() if len(ids) > 1]
    if shared:
        raise SettingsError(f"brands {shared[0]} are configured with the same website write key")
    match = None
    for b in brands:
        key = keys[b.id]
        if key and hmac.compare_digest(presented.encode(), key.encode()) and match is None:
            match = b
    configured = tuple(b.variable(WEBSITE_WRITE_KEY) for b in brands if keys[b.id])
    return WriteKeyMatch(match if presented else None, configured)


DASHBOARD_PASSWORD = "DASHBOARD_PASSWORD"  # unset: the dashboard stays locked
DASHBOARD_SESSION_SECRET = "DASHBOARD_SESSION_SECRET"  # unset: derived from the password


def dashboard_password() -> str:
    return os.environ.get(DASHBOARD_PASSWORD, "")


def dashboard_session_secret() -> str:
    return os.environ.get(DASHBOARD_SESSION_SECRET, "").strip()
