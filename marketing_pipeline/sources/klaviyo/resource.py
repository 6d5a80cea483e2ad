"""The Dagster resource for Klaviyo: the private key from the environment, one client per run."""

from __future__ import annotations

import dagster as dg

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.sources.klaviyo.client import API_BASE_URL, REVISION, KlaviyoClient, scaled_tiers
from marketing_pipeline.vendor_env import VendorEnv

ENV = VendorEnv(
    vendor="Klaviyo",
    base_url_var="KLAVIYO_BASE_URL",
    api_base_url=API_BASE_URL,
    sandbox_prefix="/klaviyo",
    keys={"KLAVIYO_API_KEY": "pk_sandbox_klaviyo_private_key"},
    optional={"KLAVIYO_REVISION": REVISION},
)


class KlaviyoResource(dg.ConfigurableResource):
    """Klaviyo API with a private key. ``revision`` defaults to the one the client is built for."""

    base_url: str = API_BASE_URL
    api_key: str = ""
    revision: str = REVISION
    timeout_seconds: float = 30.0
    max_attempts: int = 8
    rate_limit_scale: float = 1.0  # >1 only for an account with raised limits (or the sandbox in tests)

    def client(self, **overrides) -> KlaviyoClient:
        if not self.api_key:
            raise MissingCredentials(ENV.vendor, "KLAVIYO_API_KEY")
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        if self.rate_limit_scale != 1.0:
            options.setdefault("tiers", scaled_tiers(self.rate_limit_scale))
        return KlaviyoClient(self.base_url, self.api_key, self.revision or REVISION, **options)


def from_env() -> KlaviyoResource:
    return KlaviyoResource(
        base_url=dg.EnvVar("KLAVIYO_BASE_URL"),
        api_key=dg.EnvVar("KLAVIYO_API_KEY"),
        revision=dg.EnvVar("KLAVIYO_REVISION"),
    )
