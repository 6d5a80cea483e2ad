"""Dagster entry points for Customer.io activation: the daily order-event sync and the person job.

The order events are partitioned by brand × day (the brands that use Customer.io): a run sends one
brand's days, cut in its zone, from its warehouse to its own workspace. The person job names its
brand in its config. Assets are built when asked for (``ASSETS``, ``customerio_order_events``).
"""

from datetime import date
from functools import cache

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.activation.customerio.people import ACTIONS, person_action
from marketing_pipeline.activation.customerio.sync import sync_order_events
from marketing_pipeline.brand_partitions import brand_day_bounds, brand_days, build_brand_day_partitions
from marketing_pipeline.brand_resources import for_brand
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.warehouse import WarehouseResource


def _order_events(
    context: dg.AssetExecutionContext, customerio: CustomerIoResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, days = brand_days(context)
    customerio, warehouse = for_brand(customerio, brand, "customerio"), warehouse.for_brand(brand)
    start, end = brand_day_bounds(brand, days[0])[0], brand_day_bounds(brand, days[-1])[1]
    with customerio.track_client() as client, warehouse.connection() as conn:
        counts, status = sync_order_events(conn, client, start, end, run_id=context.run.run_id)
    metadata = {
        "brand": brand.id,
        "sent": counts.sent,
        "identified": counts.updated,
        "skipped": counts.skipped,
        "failed": counts.failed,
    }
    if status != "succeeded":
        # Sent events are in the ledger: a retry sends only what failed.
        raise dg.Failure(
            f"{brand.id}: {counts.failed} order event(s) failed; first: {counts.errors[:3]}",
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


@cache
def _built(brand_ids: tuple[str, ...], history_start: date) -> dg.AssetsDefinition:
    @dg.asset(
        name="customerio_order_events",
        group_name="customerio",
        partitions_def=build_brand_day_partitions("customerio"),
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
        return _order_events(context, customerio, warehouse)

    return customerio_order_events


def build() -> dg.AssetsDefinition:
    ids = tuple(b.id for b in brand_settings.load() if "customerio" in b.vendors)
    return _built(ids, settings.load().history_start)


class PersonActionConfig(dg.Config):
    action: str  # suppress | unsuppress | delete
    identifier: str
    email: str = ""
    brand: str = ""  # the brand whose workspace and warehouse; empty: the default brand


@dg.op(description="Suppress, unsuppress or delete (GDPR) one person in Customer.io.")
def customerio_person_op(
    context: dg.OpExecutionContext,
    config: PersonActionConfig,
    customerio: CustomerIoResource,
    warehouse: WarehouseResource,
) -> None:
    if config.action not in ACTIONS:
        raise dg.Failure(f"action must be one of {ACTIONS}, got {config.action!r}", allow_retries=False)
    brand = brand_settings.load().get(config.brand)
    customerio, warehouse = for_brand(customerio, brand, "customerio"), warehouse.for_brand(brand)
    with customerio.track_client() as client, warehouse.connection() as conn:
        person_action(
            conn, client, config.action, config.identifier, config.email or None, run_id=context.run.run_id
        )
    context.log.info(
        f"{brand.id} customerio {config.action} done"
    )  # the identifier may be an email: not logged


@dg.job(
    description="One Customer.io person action (suppress | unsuppress | delete), recorded in ops.sync_history."
)
def customerio_person_job():
    customerio_person_op()


customerio_order_events_job = dg.define_asset_job(
    "customerio_order_events_job",
    selection=[dg.AssetKey("customerio_order_events")],
    description="Send the selected brand's days' order events to its Customer.io workspace.",
)

JOBS = [customerio_person_job, customerio_order_events_job]


def __getattr__(name: str):
    if name == "customerio_order_events":
        return build()
    if name == "ASSETS":
        return [build()]
    raise AttributeError(name)
