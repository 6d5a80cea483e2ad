"""The Dagster resource for GA4: property, token or key file from the environment, one client per run."""

from __future__ import annotations

import dagster as dg

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.sources.ga4.auth import ServiceAccountToken, StaticToken
from marketing_pipeline.sources.ga4.client import API_BASE_URL, GA4Client
from marketing_pipeline.vendor_env import VendorEnv

SANDBOX_PROPERTY_ID = "398765432"
SANDBOX_TOKEN = "sandbox-ga4-access-token"

ENV = VendorEnv(
    vendor="GA4",
    base_url_var="GA4_BASE_URL",
    api_base_url=API_BASE_URL,
    sandbox_prefix="/ga4",
    # Setting any of these means "use the real API"; the key file may replace the token.
    keys={
        "GA4_PROPERTY_ID": SANDBOX_PROPERTY_ID,
        "GA4_ACCESS_TOKEN": SANDBOX_TOKEN,
        "GA4_CREDENTIALS_JSON": "",
    },
    optional={"GA4_ACCESS_TOKEN": "", "GA4_CREDENTIALS_JSON": "", "GA4_TOKEN_URL": ""},
)


class GA4Resource(dg.ConfigurableResource):
    """GA4 Data API for one property. ``access_token`` wins over ``credentials_json`` (a key file path)."""

    base_url: str = API_BASE_URL
    property_id: str
    access_token: str = ""
    credentials_json: str = ""
    token_url: str = ""  # overrides the key file's token_uri (the sandbox mints tokens itself)
    timeout_seconds: float = 60.0
    max_attempts: int = 6

    def client(self, **overrides) -> GA4Client:
        if not self.property_id:
            raise MissingCredentials(ENV.vendor, "GA4_PROPERTY_ID")
        if self.access_token:
            token = StaticToken(self.access_token)
        elif self.credentials_json:
            token = ServiceAccountToken(self.credentials_json, self.token_url or None)
        else:
            raise MissingCredentials(ENV.vendor, "GA4_ACCESS_TOKEN or GA4_CREDENTIALS_JSON")
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return GA4Client(self.base_url, self.property_id, token, **options)


def from_env() -> GA4Resource:
    return GA4Resource(
        base_url=dg.EnvVar("GA4_BASE_URL"),
        property_id=dg.EnvVar("GA4_PROPERTY_ID"),
        access_token=dg.EnvVar("GA4_ACCESS_TOKEN"),
        credentials_json=dg.EnvVar("GA4_CREDENTIALS_JSON"),
        token_url=dg.EnvVar("GA4_TOKEN_URL"),
    )
