"""The Dagster resource for TikTok Shop: credentials from the environment, one client per run."""

from __future__ import annotations

import dagster as dg

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.sources.tiktok_shop.client import API_BASE_URL, TikTokShopClient
from marketing_pipeline.vendor_env import VendorEnv

ENV = VendorEnv(
    vendor="TikTok Shop",
    base_url_var="TIKTOK_SHOP_BASE_URL",
    api_base_url=API_BASE_URL,
    sandbox_prefix="/tiktok-shop",
    keys={
        "TIKTOK_SHOP_APP_KEY": "sandbox-app-key",
        "TIKTOK_SHOP_APP_SECRET": "sandbox-app-secret",
        "TIKTOK_SHOP_ACCESS_TOKEN": "sandbox-access-token",
    },
    optional={"TIKTOK_SHOP_SHOP_CIPHER": ""},
)


class TikTokShopResource(dg.ConfigurableResource):
    """TikTok Shop Partner API. ``shop_cipher`` is looked up from the token when empty."""

    base_url: str = API_BASE_URL
    app_key: str
    app_secret: str
    access_token: str
    shop_cipher: str = ""
    timeout_seconds: float = 30.0
    max_attempts: int = 6

    def client(self, **overrides) -> TikTokShopClient:
        for var, value in (
            ("TIKTOK_SHOP_APP_KEY", self.app_key),
            ("TIKTOK_SHOP_APP_SECRET", self.app_secret),
            ("TIKTOK_SHOP_ACCESS_TOKEN", self.access_token),
        ):
            if not value:
                raise MissingCredentials(ENV.vendor, var)
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
    return TikTokShopResource(
        base_url=dg.EnvVar("TIKTOK_SHOP_BASE_URL"),
        app_key=dg.EnvVar("TIKTOK_SHOP_APP_KEY"),
        app_secret=dg.EnvVar("TIKTOK_SHOP_APP_SECRET"),
        access_token=dg.EnvVar("TIKTOK_SHOP_ACCESS_TOKEN"),
        shop_cipher=dg.EnvVar("TIKTOK_SHOP_SHOP_CIPHER"),
    )
