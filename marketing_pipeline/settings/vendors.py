"""Which environment variables configure each vendor, written once.

Both ways a resource gets its values derive from ``VENDORS``: Dagster resources get ``EnvVar``s
(resolved when a run starts, never shown in the UI) and plain code (the web app, CLI commands)
gets the values. A vendor is *configured* when every one of its required variables is set; one
that is not is left out of schedules, and a run of its assets fails at once naming what is missing.
There is no fallback to generated data here: the sandbox sets these variables itself, and only
when it is asked for (``MARKETING_SANDBOX=1``, ``make demo``, ``make ui``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg


@dataclass(frozen=True)
class VendorSettings:
    key: str  # the Dagster resource key
    name: str  # as people write it, for messages
    fields: Mapping[str, str]  # resource field -> environment variable
    required: tuple[str, ...]  # variables without which the vendor is not configured
    # Alternatives: the vendor is configured when any one group of these is complete.
    alternatives: tuple[tuple[str, ...], ...] = ()

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.fields.values())

    def missing(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Required variables that are unset in the environment (empty counts as unset)."""
        env = os.environ if environ is None else environ
        return self.unset({f: env.get(var, "") for f, var in self.fields.items()})

    def unset(self, values: Mapping[str, object]) -> list[str]:
        """Required variables whose resource fields are empty in ``values`` (field -> value)."""
        var_field = {var: f for f, var in self.fields.items()}

        def has(var: str) -> bool:
            return bool(str(values.get(var_field[var]) or "").strip())

        missing = [var for var in self.required if not has(var)]
        if self.alternatives and not any(all(has(v) for v in g) for g in self.alternatives):
            missing.append(" or ".join("+".join(g) for g in self.alternatives))
        return missing

    def configured(self, environ: Mapping[str, str] | None = None) -> bool:
        return not self.missing(environ)

    def values(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Resource keyword arguments from the environment, for code outside a Dagster run."""
        env = os.environ if environ is None else environ
        return {f: env[var].strip() for f, var in self.fields.items() if env.get(var, "").strip()}

    def env_vars(self, environ: Mapping[str, str] | None = None) -> dict[str, dg.EnvVar]:
        """Resource keyword arguments as ``EnvVar``s, for the variables that are set.

        Called when the definitions load (not at import). Unset variables are left out, so the
        resource's own defaults apply and a missing credential is reported by the resource, by name.
        """
        env = os.environ if environ is None else environ
        return {f: dg.EnvVar(var) for f, var in self.fields.items() if env.get(var, "").strip()}


TIKTOK_SHOP_KEYS = {
    "app_key": "TIKTOK_SHOP_APP_KEY",
    "app_secret": "TIKTOK_SHOP_APP_SECRET",
    "access_token": "TIKTOK_SHOP_ACCESS_TOKEN",
    "shop_cipher": "TIKTOK_SHOP_SHOP_CIPHER",
}

VENDORS: dict[str, VendorSettings] = {
    v.key: v
    for v in (
        VendorSettings(
            "tiktok_shop",
            "TikTok Shop",
            {"base_url": "TIKTOK_SHOP_BASE_URL", **TIKTOK_SHOP_KEYS},
            ("TIKTOK_SHOP_APP_KEY", "TIKTOK_SHOP_APP_SECRET", "TIKTOK_SHOP_ACCESS_TOKEN"),
        ),
        VendorSettings(
            "tiktok_content",
            "TikTok Shop content",
            {"base_url": "TIKTOK_SHOP_CONTENT_BASE_URL", **TIKTOK_SHOP_KEYS},
            ("TIKTOK_SHOP_APP_KEY", "TIKTOK_SHOP_APP_SECRET", "TIKTOK_SHOP_ACCESS_TOKEN"),
        ),
        VendorSettings(
            "klaviyo",
            "Klaviyo",
            {"base_url": "KLAVIYO_BASE_URL", "api_key": "KLAVIYO_API_KEY", "revision": "KLAVIYO_REVISION"},
            ("KLAVIYO_API_KEY",),
        ),
        VendorSettings(
            "ga4",
            "GA4",
            {
                "base_url": "GA4_BASE_URL",
                "property_id": "GA4_PROPERTY_ID",
                "access_token": "GA4_ACCESS_TOKEN",
                "credentials_json": "GA4_CREDENTIALS_JSON",
                "token_url": "GA4_TOKEN_URL",
            },
            ("GA4_PROPERTY_ID",),
            alternatives=(("GA4_ACCESS_TOKEN",), ("GA4_CREDENTIALS_JSON",)),
        ),
        VendorSettings(
            "customerio",
            "Customer.io",
            {
                "region": "CUSTOMERIO_REGION",
                "app_base_url": "CUSTOMERIO_APP_BASE_URL",
                "track_base_url": "CUSTOMERIO_TRACK_BASE_URL",
                "pipelines_base_url": "CUSTOMERIO_PIPELINES_BASE_URL",
                "app_api_key": "CUSTOMERIO_APP_API_KEY",
                "site_id": "CUSTOMERIO_SITE_ID",
                "track_api_key": "CUSTOMERIO_TRACK_API_KEY",
                "pipelines_api_key": "CUSTOMERIO_PIPELINES_API_KEY",
            },
            ("CUSTOMERIO_APP_API_KEY",),
        ),
        VendorSettings(
            "sendgrid",
            "SendGrid",
            {"base_url": "SENDGRID_BASE_URL", "api_key": "SENDGRID_API_KEY"},
            ("SENDGRID_API_KEY",),
        ),
    )
}


def unconfigured(environ: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Vendor key -> its missing variables, for every vendor that is not configured."""
    return {key: v.missing(environ) for key, v in VENDORS.items() if not v.configured(environ)}


def vendor_of(assets_def: dg.AssetsDefinition) -> VendorSettings | None:
    """The vendor whose resource an asset uses (by resource key), if any."""
    return next((VENDORS[k] for k in sorted(assets_def.required_resource_keys) if k in VENDORS), None)


def set_variables(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The vendor variables that are set (non-empty): what the definitions' EnvVars depend on."""
    env = os.environ if environ is None else environ
    return frozenset(var for v in VENDORS.values() for var in v.variables if env.get(var, "").strip())


def resource_args(key: str) -> dict[str, dg.EnvVar]:
    return VENDORS[key].env_vars()
