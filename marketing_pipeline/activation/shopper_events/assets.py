"""``shopper_event_forwarding``: cart events to Klaviyo and Customer.io, every five minutes.

Partitioned by brand: a run forwards one brand's events, from its warehouse, to its own accounts
of the vendors it uses. Built when asked for (``shopper_event_forwarding``, ``build()``).
"""

from functools import cache

import dagster as dg

from marketing_pipeline.activation.shopper_events.forward import ForwardingStopped, forward
from marketing_pipeline.brand_partitions import brand_of, build_brand_partitions
from marketing_pipeline.brand_resources import for_brand
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.activation import ShopperEventSettings
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.warehouse import WarehouseResource


def _clients(
    klaviyo: KlaviyoResource, customerio: CustomerIoResource, wanted: tuple[str, ...], brand
) -> dict:
    """A client factory per wanted destination the brand uses and whose credentials it has set."""
    out = {}
    if "klaviyo" in wanted and "klaviyo" in brand.vendors:
        klaviyo = for_brand(klaviyo, brand, "klaviyo")
        if klaviyo.api_key:
            out["klaviyo"] = klaviyo.client
    if "customerio" in wanted and "customerio" in brand.vendors:
        customerio = for_brand(customerio, brand, "customerio")
        if customerio.pipelines_api_key:
            out["customerio"] = customerio.pipelines_client
    return out


def _forward(
    context: dg.AssetExecutionContext,
    klaviyo: KlaviyoResource,
    customerio: CustomerIoResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    cfg = ShopperEventSettings.from_env()
    brand = brand_of(context)
    # the product links in the events point at the brand's own store
    store_url = RecoveryPolicy.from_env().store_url if brand.is_default else brand.store_url
    warehouse = warehouse.for_brand(brand)
    clients = _clients(klaviyo, customerio, cfg.destinations, brand)
    metadata: dict = {"brand": brand.id, "destinations": ", ".join(clients) or "none configured"}
    problems = []
    with warehouse.connection() as conn:
        for destination, make_client in clients.items():
            try:
                with make_client() as client:
                    counts = forward(conn, destination, client, store_url, cfg.lookback, context.run.run_id)
            except ForwardingStopped as exc:
                problems.append(f"{destination}: {exc}")
                continue
            metadata.update({f"{destination}_{k}": v for k, v in counts.metadata().items()})
            if counts.failed:
                problems.append(
                    f"{destination}: {counts.failed} event(s) refused; first: {counts.errors[:2]}"
                )
    if problems:
        raise dg.Failure(f"{brand.id}: " + "; ".join(problems), metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


@cache
def _built(brand_ids: tuple[str, ...]) -> dg.AssetsDefinition:
    @dg.asset(
        group_name="activation",
        partitions_def=build_brand_partitions(),
        kinds={"klaviyo", "customerio"},
        tags={"layer": "activation"},
        description="Forward shopper events from the cart intake (ops.cart_events: website and TikTok Shop) "
        "to Klaviyo (Viewed Product, Added to Cart, Started Checkout; bulk create) and Customer.io "
        "(Pipelines: semantic ecommerce track, page, identify, alias), each event once per destination "
        "(ops.shopper_event_outbox). Suppressed people are skipped. Destinations: SHOPPER_EVENTS_DESTINATIONS "
        "among the configured vendors.",
    )
    def shopper_event_forwarding(
        context: dg.AssetExecutionContext,
        klaviyo: KlaviyoResource,
        customerio: CustomerIoResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        return _forward(context, klaviyo, customerio, warehouse)

    return shopper_event_forwarding


def build() -> dg.AssetsDefinition:
    return _built(brand_settings.load().ids)


def __getattr__(name: str):
    if name == "shopper_event_forwarding":
        return build()
    raise AttributeError(name)
