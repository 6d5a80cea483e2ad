"""The content analytics resource: the TikTok Shop app's credentials, its own base URL variable.

In production ``TIKTOK_SHOP_CONTENT_BASE_URL`` is the same Partner API host as the orders; the
sandbox serves these endpoints under their own prefix (``/tiktok-shop-content``).
"""

from __future__ import annotations

from collections.abc import MutableMapping

import dagster as dg

from marketing_pipeline.sources.tiktok_shop.client import API_BASE_URL
from marketing_pipeline.sources.tiktok_shop.resource import ENV as SHOP_ENV
from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource
from marketing_pipeline.vendor_env import VendorEnv


class SharedKeysEnv(VendorEnv):
    """Keys shared with the orders source: the sandbox serves content whenever the orders' keys are
    unset or hold the sandbox's own values, whichever of the two sources filled them in first."""

    def uses_sandbox(self, environ: MutableMapping[str, str]) -> bool:
        return all(environ.get(var) in (None, "", value) for var, value in self.keys.items())


ENV = SharedKeysEnv(
    vendor="TikTok Shop content",
    base_url_var="TIKTOK_SHOP_CONTENT_BASE_URL",
    api_base_url=API_BASE_URL,
    sandbox_prefix="/tiktok-shop-content",
    keys=dict(SHOP_ENV.keys),  # the same app and token as the orders
    optional=dict(SHOP_ENV.optional),
)


class TikTokContentResource(TikTokShopResource):
    """TikTok Shop Analytics (videos) with the shop app's credentials."""


def from_env() -> TikTokContentResource:
    return TikTokContentResource(
        base_url=dg.EnvVar("TIKTOK_SHOP_CONTENT_BASE_URL"),
        app_key=dg.EnvVar("TIKTOK_SHOP_APP_KEY"),
        app_secret=dg.EnvVar("TIKTOK_SHOP_APP_SECRET"),
        access_token=dg.EnvVar("TIKTOK_SHOP_ACCESS_TOKEN"),
        shop_cipher=dg.EnvVar("TIKTOK_SHOP_SHOP_CIPHER"),
    )
