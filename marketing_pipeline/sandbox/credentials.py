"""What the sandbox's emulators accept, and the environment that points every vendor at them.

These values exist only in the sandbox: the product has no default credentials. ``environ`` is
what sandbox mode (``MARKETING_SANDBOX=1``, ``make demo``, ``make ui``) puts in the environment.
"""

from __future__ import annotations

from marketing_pipeline.sandbox.world import World

DEFAULT_PORT = 8765
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"

KLAVIYO_API_KEY = "pk_sandbox_klaviyo_private_key"
SENDGRID_API_KEY = "SG.sandbox-key"
GA4_PROPERTY_ID = "398765432"
GA4_ACCESS_TOKEN = "sandbox-ga4-access-token"
TIKTOK_APP_KEY = "sandbox-app-key"
TIKTOK_APP_SECRET = "sandbox-app-secret"
TIKTOK_ACCESS_TOKEN = "sandbox-access-token"
CUSTOMERIO_APP_API_KEY = "sandbox-cio-app-key"
CUSTOMERIO_SITE_ID = "sandbox-cio-site"
CUSTOMERIO_TRACK_API_KEY = "sandbox-cio-track-key"
CUSTOMERIO_PIPELINES_API_KEY = "sandbox-cio-pipelines-key"
CUSTOMERIO_WEBHOOK_SIGNING_KEY = "sandbox-cio-webhook-signing-key"
WEBSITE_WRITE_KEY = "wk_sandbox_lumenleaf"
SENDGRID_FROM_EMAIL = "hello@lumenleaf.example"
SLACK_BOT_TOKEN = "xoxb-sandbox-token"


def environ(base_url: str = DEFAULT_URL) -> dict[str, str]:
    """Every vendor variable, pointing at a sandbox served at ``base_url``."""
    url = base_url.rstrip("/")
    return {
        "MARKETING_SANDBOX": "1",
        "TIKTOK_SHOP_BASE_URL": f"{url}/tiktok-shop",
        "TIKTOK_SHOP_CONTENT_BASE_URL": f"{url}/tiktok-shop-content",
        "TIKTOK_SHOP_APP_KEY": TIKTOK_APP_KEY,
        "TIKTOK_SHOP_APP_SECRET": TIKTOK_APP_SECRET,
        "TIKTOK_SHOP_ACCESS_TOKEN": TIKTOK_ACCESS_TOKEN,
        "TIKTOK_SHOP_SHOP_CIPHER": "",
        "KLAVIYO_BASE_URL": f"{url}/klaviyo",
        "KLAVIYO_API_KEY": KLAVIYO_API_KEY,
        "GA4_BASE_URL": f"{url}/ga4",
        "GA4_PROPERTY_ID": GA4_PROPERTY_ID,
        "GA4_ACCESS_TOKEN": GA4_ACCESS_TOKEN,
        "GA4_CREDENTIALS_JSON": "",
        "GA4_TOKEN_URL": "",
        "CUSTOMERIO_REGION": "us",
        "CUSTOMERIO_APP_BASE_URL": f"{url}/customerio/app",
        "CUSTOMERIO_TRACK_BASE_URL": f"{url}/customerio/track",
        "CUSTOMERIO_PIPELINES_BASE_URL": f"{url}/customerio/cdp/v1",
        "CUSTOMERIO_APP_API_KEY": CUSTOMERIO_APP_API_KEY,
        "CUSTOMERIO_SITE_ID": CUSTOMERIO_SITE_ID,
        "CUSTOMERIO_TRACK_API_KEY": CUSTOMERIO_TRACK_API_KEY,
        "CUSTOMERIO_PIPELINES_API_KEY": CUSTOMERIO_PIPELINES_API_KEY,
        "CUSTOMERIO_WEBHOOK_SIGNING_KEY": CUSTOMERIO_WEBHOOK_SIGNING_KEY,
        "SENDGRID_BASE_URL": f"{url}/sendgrid",
        "SENDGRID_API_KEY": SENDGRID_API_KEY,
        "WEBSITE_WRITE_KEY": WEBSITE_WRITE_KEY,
        "BRAND_NAME": World.brand,
        "BRAND_ADDRESS": World.brand_address,
        "STORE_URL": World.store_url,
        "SENDGRID_FROM_EMAIL": SENDGRID_FROM_EMAIL,
        # the sandbox workspace's transactional messages, for CART_RECOVERY_SENDER=customerio
        "CART_RECOVERY_CUSTOMERIO_MESSAGE_IDS": "cart_reminder,cart_urgency,cart_offer",
        "SLACK_BASE_URL": f"{url}/slack/api/",
        "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "SLACK_CHANNEL": "#marketing-alerts",
        "SLACK_WEBHOOK_URL": "",
    }
