"""Shopper-event forwarding: its asset, a job and a five-minute schedule (running: it sends only to
configured vendors) that asks for a run of every brand. ``defs`` is built when asked for."""

from datetime import datetime

import dagster as dg

from marketing_pipeline.activation.shopper_events import assets
from marketing_pipeline.brand_partitions import brand_ids

shopper_event_forwarding_job = dg.define_asset_job(
    "shopper_event_forwarding_job",
    selection=[dg.AssetKey("shopper_event_forwarding")],
    description="Forward one brand's new shopper events to its Klaviyo and Customer.io accounts.",
)


def build_schedule() -> dg.ScheduleDefinition:
    ids = brand_ids()

    @dg.schedule(
        name="shopper_event_forwarding_job_schedule",
        job=shopper_event_forwarding_job,
        cron_schedule="*/5 * * * *",
        default_status=dg.DefaultScheduleStatus.RUNNING,  # configured destinations only
        description="Every five minutes, a run per brand.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        tick = (context.scheduled_execution_time or datetime.now()).strftime("%Y%m%dT%H%M")
        return [dg.RunRequest(partition_key=b, run_key=f"{b}:{tick}") for b in ids]

    return _schedule


def __getattr__(name: str):
    if name == "defs":
        return dg.Definitions(
            assets=[assets.build()], jobs=[shopper_event_forwarding_job], schedules=[build_schedule()]
        )
    raise AttributeError(name)
