"""The content analytics resource: the TikTok Shop app's credentials, its own base URL variable.

In production ``TIKTOK_SHOP_CONTENT_BASE_URL`` is the same Partner API host as the orders; the
sandbox serves these endpoints under their own prefix (``/tiktok-shop-content``).
"""

from __future__ import annotations

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.settings.vendors import VENDORS
from marketing_pipeline.sources.tiktok_shop.client import TikTokShopClient
from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource

VENDOR = VENDORS["tiktok_content"]


class TikTokContentResource(TikTokShopResource):
    """TikTok Shop Analytics (videos) with the shop app's credentials."""

    def client(self, **overrides) -> TikTokShopClient:
        MissingCredentials.check(VENDOR, self)
        return super().client(**overrides)


def from_env() -> TikTokContentResource:
    return TikTokContentResource(**VENDOR.env_vars())
