"""Klaviyo activation: its assets, a job that runs them, and a daily schedule (starts stopped).

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

# After the morning ingest; UTC because the brand time zone is only read at run time.
klaviyo_activation_schedule = dg.ScheduleDefinition(
    job=klaviyo_activation_job,
    cron_schedule="0 7 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

defs = dg.Definitions(
    assets=ACTIVATION_ASSETS, jobs=[klaviyo_activation_job], schedules=[klaviyo_activation_schedule]
)
