"""The Dagster resources for Customer.io: App API reporting, and Track API activation."""

from __future__ import annotations

import dagster as dg

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.settings.vendors import VENDORS
from marketing_pipeline.sources.customerio import hosts
from marketing_pipeline.sources.customerio.client import CustomerIoAppClient

VENDOR = VENDORS["customerio"]


class CustomerIoResource(dg.ConfigurableResource):
    """Customer.io App API (reporting), Track API (activation) and Pipelines API credentials and hosts.

    ``region`` picks ``api``/``track`` hosts (``us`` or ``eu``); a base URL set explicitly wins.
    """

    region: str = "us"
    app_base_url: str = ""
    track_base_url: str = ""
    pipelines_base_url: str = ""
    app_api_key: str = ""
    site_id: str = ""
    track_api_key: str = ""
    pipelines_api_key: str = ""
    timeout_seconds: float = 30.0
    max_attempts: int = 6

    def app_url(self) -> str:
        return hosts.resolve("app", self.region, self.app_base_url)

    def track_url(self) -> str:
        return hosts.resolve("track", self.region, self.track_base_url, self.app_base_url)

    def pipelines_url(self) -> str:
        return hosts.resolve("pipelines", self.region, self.pipelines_base_url, self.app_base_url)

    def app_client(self, **overrides) -> CustomerIoAppClient:
        MissingCredentials.check(VENDOR, self)
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return CustomerIoAppClient(self.app_url(), self.app_api_key, **options)

    def track_client(self, **overrides):
        from marketing_pipeline.sources.customerio.track import TrackClient

        MissingCredentials.check(VENDOR, self, ("CUSTOMERIO_SITE_ID", "CUSTOMERIO_TRACK_API_KEY"))
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return TrackClient(self.track_url(), self.site_id, self.track_api_key, **options)

    def pipelines_client(self, **overrides):
        from marketing_pipeline.sources.customerio.pipelines import PipelinesClient

        MissingCredentials.check(VENDOR, self, ("CUSTOMERIO_PIPELINES_API_KEY",))
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return PipelinesClient(self.pipelines_url(), self.pipelines_api_key, **options)


def from_env() -> CustomerIoResource:
    return CustomerIoResource(**VENDOR.env_vars())
