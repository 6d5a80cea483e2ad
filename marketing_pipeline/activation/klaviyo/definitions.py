"""Klaviyo activation: its assets and a job that runs them by hand (one brand: its partition).

They run each morning, 07:00 on each brand's clock, on their automation condition
(``automation/policy.py``), only for the brands whose own Klaviyo account is configured.

The ``klaviyo`` resource is the one the Klaviyo ingestion registers (the default brand's); each run
takes its brand's account from it (``brand_resources.for_brand``). ``defs`` is built when asked for.
"""

import dagster as dg

from marketing_pipeline.activation.klaviyo import assets
from marketing_pipeline.brand_partitions import brand_ids


def build_job():
    """The syncs, after consent_sync when every brand uses Klaviyo (a job's assets share one set of
    partitions; consent_sync has every brand's)."""
    keys = [dg.AssetKey(n) for n in assets.NAMES]
    if brand_ids("klaviyo") == brand_ids():
        keys.append(dg.AssetKey("consent_sync"))
    return dg.define_asset_job(
        "klaviyo_activation",
        selection=dg.AssetSelection.assets(*keys),
        description="Push one brand's suppressions to its platforms, sync its profiles, then order "
        "events, lists and subscriptions to its own Klaviyo account.",
    )


def __getattr__(name: str):
    if name == "ACTIVATION_ASSETS":
        return list(assets.build().values())
    if name == "defs":
        return dg.Definitions(assets=list(assets.build().values()), jobs=[build_job()])
    raise AttributeError(name)
