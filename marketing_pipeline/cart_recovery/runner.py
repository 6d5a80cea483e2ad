"""Drive the sensor and the recovery job at a chosen time, through Dagster (demo and tests).

Production uses the daemon; this evaluates the same sensor with an injected clock and
executes the runs it requests in process, against the given instance. ``brand`` picks the
brand's sensor (None: the default brand's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import dagster as dg

from marketing_pipeline.cart_recovery.job import JOB_NAME, RECOVERY_OP, recovery_job_for_env
from marketing_pipeline.cart_recovery.sensor import build_abandoned_cart_sensor
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.sources.customerio.resource import VENDOR as CUSTOMERIO
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.sources.sendgrid.resource import from_env
from marketing_pipeline.warehouse import WarehouseResource


def _resources() -> dict:
    return {
        "warehouse": WarehouseResource(apply_migrations=False),
        "sendgrid": from_env(),
        "customerio": CustomerIoResource(**CUSTOMERIO.values()),
    }


def recovery_job() -> dg.JobDefinition:
    """The job of the configured sender mode, with its resources bound."""
    return dg.Definitions(jobs=[recovery_job_for_env()], resources=_resources()).resolve_job_def(JOB_NAME)


def tick(
    instance: dg.DagsterInstance, now: datetime, cursor: str | None, brand: Brand | None = None
) -> tuple[list[dg.RunRequest], str | None]:
    sensor = build_abandoned_cart_sensor(clock=lambda: now, brand=brand)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=_resources())
    data = sensor.evaluate_tick(context)
    return list(data.run_requests or []), data.cursor


@dataclass
class StepRun:
    cart_id: str
    step: int
    status: str
    run_id: str
    brand: str = ""


def execute(
    instance: dg.DagsterInstance, request: dg.RunRequest, job: dg.JobDefinition | None = None
) -> StepRun:
    job = job or recovery_job()
    result = job.execute_in_process(
        # the run's events are in the instance; its console log would drown the caller's output
        run_config={**request.run_config, "loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        instance=instance,
        tags={**request.tags, "dagster/run_key": request.run_key},
        raise_on_error=False,
    )
    config = request.run_config["ops"][RECOVERY_OP]["config"]
    if result.success:
        status = result.output_for_node(RECOVERY_OP)
    else:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        status = (
            failure.step_failure_data.user_failure_data.metadata.get("status").value
            if failure
            and failure.step_failure_data.user_failure_data
            and "status" in failure.step_failure_data.user_failure_data.metadata
            else "error"
        )
    return StepRun(config["cart_id"], config["step"], status, result.run_id, config.get("brand", ""))


def advance(
    instance: dg.DagsterInstance,
    now: datetime,
    cursor: str | None,
    job: dg.JobDefinition | None = None,
    brand: Brand | None = None,
) -> tuple[str | None, list[StepRun]]:
    """One sensor tick at ``now`` and every run it requests; returns the new cursor and the runs."""
    requests, cursor = tick(instance, now, cursor, brand)
    job = job or recovery_job()
    return cursor, [execute(instance, r, job) for r in requests]
