"""Activation assets that span platforms: consent pushed everywhere, segments as Customer.io attributes.

Both read the model (``ops.suppressions``, ``marts.segment_members``) and sit downstream of what
fills it, so the asset graph shows raw -> core -> marts -> activation.

Both are partitioned by brand (customerio_segment_sync: the brands that use Customer.io): a run
reads its brand's warehouse and pushes to that brand's own accounts; a vendor the brand does not
use is left out. ``defs`` is built when asked for (the partitions come from the brands file).
"""

from contextlib import ExitStack
from functools import cache

import dagster as dg
import httpx

from marketing_pipeline.activation.consent_push import push_consent
from marketing_pipeline.activation.customerio.segments import DEFAULT_SEGMENTS, sync_segment_attributes
from marketing_pipeline.brand_partitions import brand_of, build_brand_partitions
from marketing_pipeline.brand_resources import for_brand
from marketing_pipeline.http import MissingCredentials, VendorError
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.sources.sendgrid.resource import SendGridResource
from marketing_pipeline.warehouse import WarehouseResource

RETRY = dg.RetryPolicy(max_retries=2, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

# Every asset that writes ops.suppressions: the Klaviyo, Customer.io and SendGrid readers.
SUPPRESSION_SOURCES = [
    dg.AssetKey("klaviyo_profiles"),
    dg.AssetKey("customerio_deliveries"),
    dg.AssetKey("sendgrid_suppressions"),
]


def _consent_sync(
    context: dg.AssetExecutionContext,
    klaviyo: KlaviyoResource,
    customerio: CustomerIoResource,
    sendgrid: SendGridResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    brand = brand_of(context)
    warehouse = warehouse.for_brand(brand)
    resources = {"klaviyo": klaviyo, "customerio": customerio, "sendgrid": sendgrid}
    mine = {k: for_brand(r, brand, k) for k, r in resources.items() if k in brand.vendors}
    factories = {
        "klaviyo": lambda: mine["klaviyo"].client(),
        "customerio": lambda: mine["customerio"].track_client(),
        "sendgrid": lambda: mine["sendgrid"].client(),
    }
    factories = {k: f for k, f in factories.items() if k in mine}
    with ExitStack() as stack, warehouse.connection() as conn:
        clients, not_configured = {}, {}
        for platform, make in factories.items():
            try:
                clients[platform] = stack.enter_context(make())
            except MissingCredentials as exc:  # pushed once it is configured: nothing is lost
                not_configured[platform] = str(exc)
        results = push_consent(conn, clients, context.run.run_id)
    for platform, why in not_configured.items():
        context.log.warning(f"{brand.id}: consent not pushed to {platform}: {why}")
    failed = {p: r for p, r in results.items() if isinstance(r, Exception)}
    metadata = {"brand": brand.id}
    metadata.update({f"{p} pushed": r.sent for p, r in results.items() if not isinstance(r, Exception)})
    metadata.update({f"{p} pushed": "not configured" for p in not_configured})
    metadata.update({f"{p} pushed": "not used by the brand" for p in resources if p not in mine})
    if failed:
        # Only outages are worth a retry; a refused key or body fails at once (the others are pushed).
        transient = any(
            isinstance(e, httpx.TransportError) or (isinstance(e, VendorError) and e.retryable)
            for e in failed.values()
        )
        raise dg.Failure(
            f"{brand.id}: consent push failed for "
            + ", ".join(f"{p}: {e!r}"[:300] for p, e in failed.items()),
            metadata=metadata,
            allow_retries=transient,
        )
    return dg.MaterializeResult(metadata=metadata)


def _customerio_segment_sync(
    context: dg.AssetExecutionContext,
    segments: list[str],
    customerio: CustomerIoResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    brand = brand_of(context)
    customerio, warehouse = for_brand(customerio, brand, "customerio"), warehouse.for_brand(brand)
    with customerio.track_client() as client, warehouse.connection() as conn:
        counts = sync_segment_attributes(conn, client, segments, context.run.run_id)
    return dg.MaterializeResult(metadata={"brand": brand.id, **counts.metadata()})


class SegmentAttributesConfig(dg.Config):
    segments: list[str] = list(DEFAULT_SEGMENTS)  # marts segment names, sent as segment_<name>


@cache
def _built(all_brands: tuple[str, ...], customerio_brands: tuple[str, ...]) -> list[dg.AssetsDefinition]:
    @dg.asset(
        group_name="activation",
        partitions_def=build_brand_partitions(),
        deps=SUPPRESSION_SOURCES,
        kinds={"klaviyo", "customerio", "sendgrid", "postgres"},
        tags={"layer": "activation"},
        retry_policy=RETRY,
        description="Suppressions from any source (Klaviyo, Customer.io, SendGrid, recovery links) pushed to the "
        "other platforms once: Klaviyo unsubscribe, Customer.io unsubscribed (GDPR: suppress), SendGrid global "
        "unsubscribe. One ops.sync_history row per platform.",
    )
    def consent_sync(
        context: dg.AssetExecutionContext,
        klaviyo: KlaviyoResource,
        customerio: CustomerIoResource,
        sendgrid: SendGridResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        return _consent_sync(context, klaviyo, customerio, sendgrid, warehouse)

    @dg.asset(
        group_name="activation",
        partitions_def=build_brand_partitions("customerio"),
        deps=[dg.AssetKey("customer_segments"), dg.AssetKey("core_customers")],
        pool="customerio_api",
        kinds={"customerio", "postgres"},
        tags={"layer": "activation"},
        retry_policy=RETRY,
        description="Configured marts segments as Customer.io person attributes (segment_<name>: "
        "true/false), only changes sent; suppressed people never identified. One brand per run, to its "
        "own Customer.io workspace.",
    )
    def customerio_segment_sync(
        context: dg.AssetExecutionContext,
        config: SegmentAttributesConfig,
        customerio: CustomerIoResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        return _customerio_segment_sync(context, config.segments, customerio, warehouse)

    return [consent_sync, customerio_segment_sync]


def build() -> list[dg.AssetsDefinition]:
    """consent_sync and customerio_segment_sync for the brands file as it is now."""
    brands = brand_settings.load()
    return _built(brands.ids, tuple(b.id for b in brands if "customerio" in b.vendors))


customerio_segment_sync_job = dg.define_asset_job(
    "customerio_segment_sync_job",
    selection=[dg.AssetKey("customerio_segment_sync")],
    description="Send one brand's configured marts segments to its Customer.io workspace as person "
    "attributes.",
)


def __getattr__(name: str):
    if name in ("consent_sync", "customerio_segment_sync"):
        return {a.key.path[-1]: a for a in build()}[name]
    if name == "defs":
        return dg.Definitions(assets=build(), jobs=[customerio_segment_sync_job])
    raise AttributeError(name)
