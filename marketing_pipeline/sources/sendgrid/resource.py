"""The Dagster resource for SendGrid: the API key from the environment, one client per run."""

from __future__ import annotations

import dagster as dg

from marketing_pipeline.http import MissingCredentials
from marketing_pipeline.settings.vendors import VENDORS
from marketing_pipeline.sources.sendgrid.client import API_BASE_URL, SendGridClient

VENDOR = VENDORS["sendgrid"]


class SendGridResource(dg.ConfigurableResource):
    """SendGrid v3 (``https://api.eu.sendgrid.com`` for EU subusers)."""

    base_url: str = API_BASE_URL
    api_key: str = ""
    timeout_seconds: float = 20.0
    max_attempts: int = 5

    def client(self, **overrides) -> SendGridClient:
        MissingCredentials.check(VENDOR, self)
        options = {"timeout": self.timeout_seconds, "max_attempts": self.max_attempts, **overrides}
        return SendGridClient(self.base_url, self.api_key, **options)


def from_env() -> SendGridResource:
    return SendGridResource(**VENDOR.env_vars())
