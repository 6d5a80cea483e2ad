"""The Dagster resource for Klaviyo: the private key from the environment, one client per run."""

from __future__ import annotations

import dagster as dg

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.settings.vendors import VENDORS
from marketing_pipeline.sources.klaviyo.client import API_BASE_URL, REVISION, KlaviyoClient, scaled_tiers

VENDOR = VENDORS["klaviyo"]


class KlaviyoResource(dg.ConfigurableResource):
    """Klaviyo API with a private key. ``revision`` defaults to the one the client is built for."""

    base_url: str = API_BASE_URL
    api_key: str = ""
    revision: str = REVISION
    timeout_seconds: float = 30.0
    max_attempts: int = 8
    rate_limit_scale: float = 1.0  # >1 only for an account with raised limits (or the sandbox in tests)

    def client(self, **overrides) -> KlaviyoClient:
        MissingCredentials.check(VENDOR, self)
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        if self.rate_limit_scale != 1.0:
            options.setdefault("tiers", scaled_tiers(self.rate_limit_scale))
        return KlaviyoClient(self.base_url, self.api_key, self.revision or REVISION, **options)


def from_env() -> KlaviyoResource:
    return KlaviyoResource(**VENDOR.env_vars())
