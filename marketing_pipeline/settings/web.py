"""The web app's secrets, read per request so a rotated key takes effect without a restart."""

from __future__ import annotations

import os

WEBSITE_WRITE_KEY = "WEBSITE_WRITE_KEY"  # the storefront's publishable key for cart events
CUSTOMERIO_WEBHOOK_SIGNING_KEY = "CUSTOMERIO_WEBHOOK_SIGNING_KEY"


def website_write_key() -> str:
    """Empty when unset: the intake then refuses every post (no built-in default key)."""
    return os.environ.get(WEBSITE_WRITE_KEY, "").strip()


def customerio_webhook_signing_key() -> str:
    return os.environ.get(CUSTOMERIO_WEBHOOK_SIGNING_KEY, "").strip()


def tiktok_app() -> tuple[str, str]:
    """(app key, app secret) that sign TikTok Shop webhooks."""
    return os.environ.get("TIKTOK_SHOP_APP_KEY", "").strip(), os.environ.get(
        "TIKTOK_SHOP_APP_SECRET", ""
    ).strip()


DASHBOARD_PASSWORD = "DASHBOARD_PASSWORD"  # unset: the dashboard stays locked
DASHBOARD_SESSION_SECRET = "DASHBOARD_SESSION_SECRET"  # unset: derived from the password


def dashboard_password() -> str:
    return os.environ.get(DASHBOARD_PASSWORD, "")


def dashboard_session_secret() -> str:
    return os.environ.get(DASHBOARD_SESSION_SECRET, "").strip()
