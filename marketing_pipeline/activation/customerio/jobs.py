"""Dagster entry points for Customer.io activation: the daily order-event sync and the person job."""

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.activation.customerio.people import ACTIONS, person_action
from marketing_pipeline.activation.customerio.sync import sync_order_events
from marketing_pipeline.partitions import daily_partitions, day_bounds, partition_days
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.warehouse import WarehouseResource


@dg.asset(
    group_name="customerio",
    partitions_def=daily_partitions,
    pool="customerio_api",
    deps=[dg.AssetKey("core_orders")],
    kinds={"customerio"},
    tags={"layer": "activation"},
    retry_policy=dg.RetryPolicy(max_retries=2, delay=60, backoff=dg.Backoff.EXPONENTIAL),
    description="Identify the day's buyers in Customer.io and track each placed order as 'order_placed' "
    "(Track API, ULID event ids derived from the order). Suppressed emails are skipped; subscription "
    "attributes only with consent. Each run writes ops.sync_history.",
)
def customerio_order_events(
    context: dg.AssetExecutionContext, customerio: CustomerIoResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    days = partition_days(context)
    tz = settings.load().tz
    start, end = day_bounds(days[0], tz)[0], day_bounds(days[-1], tz)[1]
    with customerio.track_client() as client, warehouse.connection() as conn:
        counts, status = sync_order_events(conn, client, start, end, run_id=context.run.run_id)
    metadata = {
        "sent": counts.sent,
        "identified": counts.updated,
        "skipped": counts.skipped,
        "failed": counts.failed,
    }
    if status != "succeeded":
        # Sent events are in the ledger: a retry sends only what failed.
        raise dg.Failure(
            f"{counts.failed} order event(s) failed; first: {counts.errors[:3]}", metadata=metadata
        )
    return dg.MaterializeResult(metadata=metadata)


class PersonActionConfig(dg.Config):
    action: str  # suppress | unsuppress | delete
    identifier: str
    email: str = ""


@dg.op(description="Suppress, unsuppress or delete (GDPR) one person in Customer.io.")
def customerio_person_op(
    context: dg.OpExecutionContext,
    config: PersonActionConfig,
    customerio: CustomerIoResource,
    warehouse: WarehouseResource,
) -> None:
    if config.action not in ACTIONS:
        raise dg.Failure(f"action must be one of {ACTIONS}, got {config.action!r}", allow_retries=False)
    with customerio.track_client() as client, warehouse.connection() as conn:
        person_action(
            conn, client, config.action, config.identifier, config.email or None, run_id=context.run.run_id
        )
    context.log.info(f"customerio {config.action} done")  # the identifier may be an email: not logged


@dg.job(
    description="One Customer.io person action (suppress | unsuppress | delete), recorded in ops.sync_history."
)
def customerio_person_job():
    customerio_person_op()


customerio_order_events_job = dg.define_asset_job(
    "customerio_order_events_job",
    selection=[customerio_order_events],
    description="Send the selected days' order events to Customer.io.",
)

ASSETS = [customerio_order_events]
JOBS = [customerio_person_job, customerio_order_events_job]
