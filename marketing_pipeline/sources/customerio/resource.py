"""The Dagster resources for Customer.io: App API reporting, and Track API activation."""

from __future__ import annotations

import dagster as dg

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.sources.customerio import hosts
from marketing_pipeline.sources.customerio.client import CustomerIoAppClient
from marketing_pipeline.vendor_env import VendorEnv

ENV = VendorEnv(
    vendor="Customer.io",
    base_url_var="CUSTOMERIO_APP_BASE_URL",
    api_base_url=hosts.REGION_HOSTS["us"]["app"],
    sandbox_prefix="/customerio/app",
    keys={
        "CUSTOMERIO_APP_API_KEY": "sandbox-cio-app-key",
        "CUSTOMERIO_SITE_ID": "sandbox-cio-site",
        "CUSTOMERIO_TRACK_API_KEY": "sandbox-cio-track-key",
        "CUSTOMERIO_WEBHOOK_SIGNING_KEY": "sandbox-cio-webhook-signing-key",
        "CUSTOMERIO_PIPELINES_API_KEY": "sandbox-cio-pipelines-key",
    },
    # Empty base URLs are derived: from the region, or next to a sandbox app URL.
    optional={
        "CUSTOMERIO_REGION": "us",
        "CUSTOMERIO_TRACK_BASE_URL": "",
        "CUSTOMERIO_PIPELINES_BASE_URL": "",
    },
)


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
        if not self.app_api_key:
            raise MissingCredentials(ENV.vendor, "CUSTOMERIO_APP_API_KEY")
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return CustomerIoAppClient(self.app_url(), self.app_api_key, **options)

    def track_client(self, **overrides):
        from marketing_pipeline.activation.customerio.track import TrackClient

        for var, value in (
            ("CUSTOMERIO_SITE_ID", self.site_id),
            ("CUSTOMERIO_TRACK_API_KEY", self.track_api_key),
        ):
            if not value:
                raise MissingCredentials(ENV.vendor, var)
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return TrackClient(self.track_url(), self.site_id, self.track_api_key, **options)

    def pipelines_client(self, **overrides):
        from marketing_pipeline.activation.customerio.pipelines import PipelinesClient

        if not self.pipelines_api_key:
            raise MissingCredentials(ENV.vendor, "CUSTOMERIO_PIPELINES_API_KEY")
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return PipelinesClient(self.pipelines_url(), self.pipelines_api_key, **options)


def from_env() -> CustomerIoResource:
    return CustomerIoResource(
        region=dg.EnvVar("CUSTOMERIO_REGION"),
        app_base_url=dg.EnvVar("CUSTOMERIO_APP_BASE_URL"),
        track_base_url=dg.EnvVar("CUSTOMERIO_TRACK_BASE_URL"),
        pipelines_base_url=dg.EnvVar("CUSTOMERIO_PIPELINES_BASE_URL"),
        app_api_key=dg.EnvVar("CUSTOMERIO_APP_API_KEY"),
        site_id=dg.EnvVar("CUSTOMERIO_SITE_ID"),
        track_api_key=dg.EnvVar("CUSTOMERIO_TRACK_API_KEY"),
        pipelines_api_key=dg.EnvVar("CUSTOMERIO_PIPELINES_API_KEY"),
    )
