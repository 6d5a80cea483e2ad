"""The modules that build brand-partitioned assets and those that hold them: a code location loads
them for one brands file, so a test of another brands file loads them again (and back afterwards)."""

from __future__ import annotations

import importlib

ASSET_MODULES = [
    "marketing_pipeline.sources.tiktok_shop.assets",
    "marketing_pipeline.sources.customerio.assets",
]
# every module building ingestion assets, then those holding them, in import order
DEFINITION_MODULES = [
    *ASSET_MODULES,
    "marketing_pipeline.sources.tiktok_shop.changes",
    "marketing_pipeline.sources.tiktok_shop.definitions",
    "marketing_pipeline.sources.customerio.definitions",
    "marketing_pipeline.sources.tiktok_content.assets",
    "marketing_pipeline.sources.tiktok_content.definitions",
    "marketing_pipeline.sources.ga4.assets",
    "marketing_pipeline.sources.ga4.definitions",
    "marketing_pipeline.sources.klaviyo.assets_catalog",
    "marketing_pipeline.sources.klaviyo.assets_events",
    "marketing_pipeline.sources.klaviyo.assets_profiles",
    "marketing_pipeline.sources.klaviyo.assets_reports",
    "marketing_pipeline.sources.klaviyo.definitions",
]


def reload(modules: list[str] = ASSET_MODULES) -> dict:
    """Load ``modules`` again, and forget the definitions built from their earlier objects."""
    from marketing_pipeline import definitions

    loaded = {m: importlib.reload(importlib.import_module(m)) for m in modules}
    definitions._build.cache_clear()
    return loaded
