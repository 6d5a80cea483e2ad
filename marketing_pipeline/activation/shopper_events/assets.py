"""``shopper_event_forwarding``: cart events to Klaviyo and Customer.io, every five minutes."""

import dagster as dg

from marketing_pipeline.activation.shopper_events.forward import ForwardingStopped, forward
from marketing_pipeline.settings.activation import ShopperEventSettings
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.warehouse import WarehouseResource


def _clients(klaviyo: KlaviyoResource, customerio: CustomerIoResource, wanted: tuple[str, ...]) -> dict:
    """A client factory per wanted destination whose credentials are set; the rest are reported."""
    out = {}
    if "klaviyo" in wanted and klaviyo.api_key:
        out["klaviyo"] = klaviyo.client
    if "customerio" in wanted and customerio.pipelines_api_key:
        out["customerio"] = customerio.pipelines_client
    return out


@dg.asset(
    group_name="activation",
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
    cfg = ShopperEventSettings.from_env()
    store_url = RecoveryPolicy.from_env().store_url
    clients = _clients(klaviyo, customerio, cfg.destinations)
    metadata: dict = {"destinations": ", ".join(clients) or "none configured"}
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
        raise dg.Failure("; ".join(problems), metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)
