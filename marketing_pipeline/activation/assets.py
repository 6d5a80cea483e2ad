"""Activation assets that span platforms: consent pushed everywhere, segments as Customer.io attributes.

Both read the model (``ops.suppressions``, ``marts.segment_members``) and sit downstream of what
fills it, so the asset graph shows raw -> core -> marts -> activation.
"""

from contextlib import ExitStack

import dagster as dg
import httpx

from marketing_pipeline.activation.consent_push import push_consent
from marketing_pipeline.activation.customerio.segments import DEFAULT_SEGMENTS, sync_segment_attributes
from marketing_pipeline.http import MissingCredentials, VendorError
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


@dg.asset(
    group_name="activation",
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
    factories = {
        "klaviyo": klaviyo.client,
        "customerio": customerio.track_client,
        "sendgrid": sendgrid.client,
    }
    with ExitStack() as stack, warehouse.connection() as conn:
        clients, not_configured = {}, {}
        for platform, make in factories.items():
            try:
                clients[platform] = stack.enter_context(make())
            except MissingCredentials as exc:  # pushed once it is configured: nothing is lost
                not_configured[platform] = str(exc)
        results = push_consent(conn, clients, context.run.run_id)
    for platform, why in not_configured.items():
        context.log.warning(f"consent not pushed to {platform}: {why}")
    failed = {p: r for p, r in results.items() if isinstance(r, Exception)}
    metadata = {f"{p} pushed": r.sent for p, r in results.items() if not isinstance(r, Exception)}
    metadata.update({f"{p} pushed": "not configured" for p in not_configured})
    if failed:
        # Only outages are worth a retry; a refused key or body fails at once (the others are pushed).
        transient = any(
            isinstance(e, httpx.TransportError) or (isinstance(e, VendorError) and e.retryable)
            for e in failed.values()
        )
        raise dg.Failure(
            "consent push failed for " + ", ".join(f"{p}: {e!r}"[:300] for p, e in failed.items()),
            metadata=metadata,
            allow_retries=transient,
        )
    return dg.MaterializeResult(metadata=metadata)


class SegmentAttributesConfig(dg.Config):
    segments: list[str] = list(DEFAULT_SEGMENTS)  # marts segment names, sent as segment_<name>


@dg.asset(
    group_name="activation",
    deps=[dg.AssetKey("customer_segments"), dg.AssetKey("core_customers")],
    pool="customerio_api",
    kinds={"customerio", "postgres"},
    tags={"layer": "activation"},
    retry_policy=RETRY,
    description="Configured marts segments as Customer.io person attributes (segment_<name>: true/false), "
    "only changes sent; suppressed people never identified.",
)
def customerio_segment_sync(
    context: dg.AssetExecutionContext,
    config: SegmentAttributesConfig,
    customerio: CustomerIoResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    with customerio.track_client() as client, warehouse.connection() as conn:
        counts = sync_segment_attributes(conn, client, config.segments, context.run.run_id)
    return dg.MaterializeResult(metadata=counts.metadata())


customerio_segment_sync_job = dg.define_asset_job(
    "customerio_segment_sync_job",
    selection=[customerio_segment_sync],
    description="Send the configured marts segments to Customer.io as person attributes.",
)

defs = dg.Definitions(assets=[consent_sync, customerio_segment_sync], jobs=[customerio_segment_sync_job])
