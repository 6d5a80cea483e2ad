"""Shopper-event forwarding: its asset, a job and a five-minute schedule (running: it sends only to configured vendors)."""

import dagster as dg

from marketing_pipeline.activation.shopper_events.assets import shopper_event_forwarding

shopper_event_forwarding_job = dg.define_asset_job(
    "shopper_event_forwarding_job",
    selection=[shopper_event_forwarding],
    description="Forward new shopper events to Klaviyo and Customer.io.",
)

shopper_event_forwarding_schedule = dg.ScheduleDefinition(
    job=shopper_event_forwarding_job,
    cron_schedule="*/5 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,  # configured destinations only
)

defs = dg.Definitions(
    assets=[shopper_event_forwarding],
    jobs=[shopper_event_forwarding_job],
    schedules=[shopper_event_forwarding_schedule],
)
