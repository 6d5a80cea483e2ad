"""The Dagster resource for TikTok Shop: credentials from the environment, one client per run."""

from __future__ import annotations

import dagster as dg

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.settings.vendors import VENDORS
from marketing_pipeline.sources.tiktok_shop.client import API_BASE_URL, TikTokShopClient

VENDOR = VENDORS["tiktok_shop"]


class TikTokShopResource(dg.ConfigurableResource):
    """TikTok Shop Partner API. ``shop_cipher`` is looked up from the token when empty."""

    base_url: str = API_BASE_URL
    app_key: str = ""
    app_secret: str = ""
    access_token: str = ""
    shop_cipher: str = ""
    timeout_seconds: float = 30.0
    max_attempts: int = 6

    def client(self, **overrides) -> TikTokShopClient:
        MissingCredentials.check(VENDOR, self)
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return TikTokShopClient(
            self.base_url,
            self.app_key,
            self.app_secret,
            self.access_token,
            self.shop_cipher or None,
            **options,
        )


def from_env() -> TikTokShopResource:
    return TikTokShopResource(**VENDOR.env_vars())
