"""Slack for alerts: dagster-slack's resource, pointed at a base URL (the sandbox has an emulator),
or an incoming webhook when ``SLACK_WEBHOOK_URL`` is set."""

from __future__ import annotations

import dagster as dg
from dagster_slack import SlackResource
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from marketing_pipeline.vendor_env import VendorEnv

API_BASE_URL = "https://slack.com/api/"
ENV = VendorEnv(
    vendor="Slack",
    base_url_var="SLACK_BASE_URL",
    api_base_url=API_BASE_URL,
    sandbox_prefix="/slack/api/",
    keys={"SLACK_BOT_TOKEN": "xoxb-sandbox-token"},
    optional={"SLACK_CHANNEL": "#marketing-alerts", "SLACK_WEBHOOK_URL": ""},
)


class SlackDeliveryError(RuntimeError):
    pass


class SlackAlertsResource(SlackResource):
    """``token`` (a bot token with ``chat:write``) posts to ``channel``; a webhook URL wins when set."""

    base_url: str = API_BASE_URL
    channel: str = "#marketing-alerts"
    webhook_url: str = ""

    def get_client(self) -> WebClient:
        return WebClient(self.token, base_url=self.base_url, timeout=10)

    def post(self, text: str) -> str:
        """Post one message; returns how it went out. Raises ``SlackDeliveryError`` when refused."""
        if self.webhook_url:
            response = WebhookClient(self.webhook_url, timeout=10).send(text=text)
            if response.status_code != 200:
                raise SlackDeliveryError(f"Slack webhook answered {response.status_code}: {response.body}")
            return "slack_webhook"
        response = self.get_client().chat_postMessage(channel=self.channel, text=text, unfurl_links=False)
        if not response.get("ok"):
            raise SlackDeliveryError(f"Slack refused the message: {response.get('error')}")
        return "slack_api"


def from_env() -> SlackAlertsResource:
    return SlackAlertsResource(
        token=dg.EnvVar("SLACK_BOT_TOKEN"),
        base_url=dg.EnvVar("SLACK_BASE_URL"),
        channel=dg.EnvVar("SLACK_CHANNEL"),
        webhook_url=dg.EnvVar("SLACK_WEBHOOK_URL"),
    )
