"""The Dagster resource for SendGrid: the API key from the environment, one client per run."""

from __future__ import annotations

import dagster as dg

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.sources.sendgrid.client import API_BASE_URL, SendGridClient
from marketing_pipeline.vendor_env import VendorEnv

ENV = VendorEnv(
    vendor="SendGrid",
    base_url_var="SENDGRID_BASE_URL",
    api_base_url=API_BASE_URL,
    sandbox_prefix="/sendgrid",
    keys={"SENDGRID_API_KEY": "SG.sandbox-key"},
    optional={"SENDGRID_FROM_EMAIL": "hello@lumenleaf.example"},
)


class SendGridResource(dg.ConfigurableResource):
    """SendGrid v3 (``https://api.eu.sendgrid.com`` for EU subusers)."""

    base_url: str = API_BASE_URL
    api_key: str
    timeout_seconds: float = 20.0
    max_attempts: int = 5

    def client(self, **overrides) -> SendGridClient:
        if not self.api_key:
            raise MissingCredentials(ENV.vendor, "SENDGRID_API_KEY")
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return SendGridClient(self.base_url, self.api_key, **options)


def from_env() -> SendGridResource:
    return SendGridResource(base_url=dg.EnvVar("SENDGRID_BASE_URL"), api_key=dg.EnvVar("SENDGRID_API_KEY"))
