"""Slack for alerts: dagster-slack's resource, pointed at a base URL (the sandbox has an emulator),
or an incoming webhook when ``SLACK_WEBHOOK_URL`` is set. Slack is not a data source, so it is not
in ``settings.vendors.VENDORS`` (schedules do not wait for it); its variables are described the same way."""

from __future__ import annotations

from dagster_slack import SlackResource
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from marketing_pipeline.settings.vendors import VendorSettings

API_BASE_URL = "https://slack.com/api/"
SLACK = VendorSettings(
    "slack",
    "Slack",
    {
        "token": "SLACK_BOT_TOKEN",
        "base_url": "SLACK_BASE_URL",
        "channel": "SLACK_CHANNEL",
        "webhook_url": "SLACK_WEBHOOK_URL",
    },
    (),
    alternatives=(("SLACK_WEBHOOK_URL",), ("SLACK_BOT_TOKEN",)),
)


class SlackDeliveryError(RuntimeError):
    pass


class SlackAlertsResource(SlackResource):
    """``token`` (a bot token with ``chat:write``) posts to ``channel``; a webhook URL wins when set."""

    token: str = ""
    base_url: str = API_BASE_URL
    channel: str = "#marketing-alerts"
    webhook_url: str = ""

    def missing(self) -> list[str]:
        """What to set before alerts can go out (empty: configured)."""
        return SLACK.unset(self.model_dump())

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
    return SlackAlertsResource(**SLACK.env_vars())
