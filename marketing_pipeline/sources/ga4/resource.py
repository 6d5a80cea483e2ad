"""The Dagster resource for GA4: property, token or key file from the environment, one client per run."""

from __future__ import annotations

import dagster as dg

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.settings.vendors import VENDORS
from marketing_pipeline.sources.ga4.auth import ServiceAccountToken, StaticToken
from marketing_pipeline.sources.ga4.client import API_BASE_URL, GA4Client

VENDOR = VENDORS["ga4"]


class GA4Resource(dg.ConfigurableResource):
    """GA4 Data API for one property. ``access_token`` wins over ``credentials_json`` (a key file path)."""

    base_url: str = API_BASE_URL
    property_id: str = ""
    access_token: str = ""
    credentials_json: str = ""
    token_url: str = ""  # overrides the key file's token_uri (the sandbox mints tokens itself)
    timeout_seconds: float = 60.0
    max_attempts: int = 6

    def client(self, **overrides) -> GA4Client:
        MissingCredentials.check(VENDOR, self)
        if self.access_token:
            token = StaticToken(self.access_token)
        else:
            token = ServiceAccountToken(self.credentials_json, self.token_url or None)
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return GA4Client(self.base_url, self.property_id, token, **options)


def from_env() -> GA4Resource:
    return GA4Resource(**VENDOR.env_vars())
