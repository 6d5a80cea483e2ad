"""A vendor resource for one brand: the same client settings, that brand's account.

The definitions hold one resource per vendor, configured from the default brand's variables.
Another brand's resource keeps its settings (timeouts, retries, pacing) and takes every field the
vendor reads from the environment (credentials, base URLs, region) from that brand's variables, so
one brand's credentials never serve another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import dagster as dg

from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.settings.vendors import VENDORS

R = TypeVar("R", bound=dg.ConfigurableResource)


def for_brand(resource: R, brand: Brand, vendor: str, environ: Mapping[str, str] | None = None) -> R:
    """``resource`` (the default brand's) as ``brand``'s. Raises ``SettingsError`` for a vendor the
    brand does not use."""
    if brand.is_default:
        return resource
    cls = type(resource)
    from_env = VENDORS[vendor].fields
    kept = {f: getattr(resource, f) for f in cls.model_fields if f not in from_env}
    return cls(**kept, **brand.vendor(vendor).values(environ))
