"""Which environment variables each vendor reads, and the sandbox defaults when none is set.

"No key set for a vendor means the sandbox serves it": ``apply_defaults`` fills a vendor's
variables with the sandbox's values only when none of that vendor's keys is set. When some
are set, the missing ones stay missing and the resource names them in its error.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field

DEFAULT_SANDBOX_PORT = 8765
DEFAULT_SANDBOX_URL = f"http://127.0.0.1:{DEFAULT_SANDBOX_PORT}"

# Each module defines ``ENV = VendorEnv(...)``; one line per vendor package.
VENDOR_ENV_MODULES = [
    "marketing_pipeline.sources.ga4.resource",
    "marketing_pipeline.sources.tiktok_shop.resource",
    "marketing_pipeline.sources.tiktok_content.resource",  # after tiktok_shop: shares its keys
    "marketing_pipeline.sources.sendgrid.resource",
    "marketing_pipeline.sources.customerio.resource",
    "marketing_pipeline.sources.klaviyo.resource",
    "marketing_pipeline.alerts.slack",  # where alerts go; not a data source
]


@dataclass(frozen=True)
class VendorEnv:
    vendor: str
    base_url_var: str
    api_base_url: str
    sandbox_prefix: str
    keys: dict[str, str]  # variable -> the value the sandbox accepts
    optional: dict[str, str] = field(default_factory=dict)  # variable -> default when unset

    def uses_sandbox(self, environ: MutableMapping[str, str]) -> bool:
        return not any(environ.get(var) for var in self.keys)

    def apply_defaults(
        self, environ: MutableMapping[str, str], sandbox_url: str, sandbox: bool | None = None
    ) -> bool:
        """Fill unset variables; returns True when this vendor is served by the sandbox."""
        sandbox = self.uses_sandbox(environ) if sandbox is None else sandbox
        if sandbox:
            environ.setdefault(self.base_url_var, sandbox_url.rstrip("/") + self.sandbox_prefix)
            for var, value in self.keys.items():
                environ.setdefault(var, value)
        else:
            environ.setdefault(self.base_url_var, self.api_base_url)
        for var, value in self.optional.items():
            environ.setdefault(var, value)
        return sandbox


def vendor_envs() -> list[VendorEnv]:
    return [importlib.import_module(m).ENV for m in VENDOR_ENV_MODULES]


def apply_defaults(
    sandbox_url: str = DEFAULT_SANDBOX_URL, environ: MutableMapping[str, str] | None = None
) -> list[str]:
    """Fill every vendor's unset variables; returns the vendors the sandbox serves."""
    environ = os.environ if environ is None else environ
    envs = vendor_envs()
    # Decide for every vendor before filling any: vendors that share keys (TikTok Shop orders and
    # content) must not see each other's sandbox defaults as real credentials.
    decisions = [(env, env.uses_sandbox(environ)) for env in envs]
    return [env.vendor for env, sandbox in decisions if env.apply_defaults(environ, sandbox_url, sandbox)]
