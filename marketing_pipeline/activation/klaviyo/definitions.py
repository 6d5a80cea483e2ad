"""Klaviyo activation: its assets and a job that runs them by hand.

They run each morning on their automation condition (``automation/policy.py``), only while Klaviyo
is configured.

The ``klaviyo`` resource is the one the Klaviyo ingestion registers; it is not registered twice.
"""

import dagster as dg

from marketing_pipeline.activation.klaviyo import assets

ACTIVATION_ASSETS = [
    assets.klaviyo_profile_sync,
    assets.klaviyo_order_event_sync,
    assets.klaviyo_list_sync,
    assets.klaviyo_subscription_sync,
]

klaviyo_activation_job = dg.define_asset_job(
    "klaviyo_activation",
    selection=dg.AssetSelection.assets(*ACTIVATION_ASSETS, dg.AssetKey("consent_sync")),
    description="Push suppressions to every platform, sync profiles, then order events, lists and "
    "subscriptions to Klaviyo.",
)

defs = dg.Definitions(assets=ACTIVATION_ASSETS, jobs=[klaviyo_activation_job])
