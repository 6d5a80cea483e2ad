"""Klaviyo activation assets: the state of Klaviyo's profiles, events, lists and subscriptions.

Non-partitioned assets (not a job of ops): each sync makes Klaviyo match the whole warehouse as
of now, so there is nothing to partition; as assets they show lineage (profiles first, then
what needs profile ids) and each materialization carries its counts. Each writes one
``ops.sync_history`` row. Refused records are counted and kept with Klaviyo's reasons; they do
not fail the run. Outages (429/5xx after the client's retries) fail it and the retry policy
tries again later: every sync is safe to repeat.

Partitioned by brand (the brands that use Klaviyo): a run reads that brand's warehouse and writes
to that brand's own Klaviyo account (``brand_resources.for_brand``), so one brand's people never
reach another's lists. The partitions come from the brands file: the assets are built when first
asked for (``assets.klaviyo_list_sync``, ``build()``), not when this module is imported.
"""

from functools import cache

import dagster as dg
import httpx
import psycopg

from marketing_pipeline.activation.klaviyo.config import EventSyncConfig, ListConfig, ProfileSyncConfig
from marketing_pipeline.activation.klaviyo.events import sync_order_events
from marketing_pipeline.activation.klaviyo.lists import sync_lists
from marketing_pipeline.activation.klaviyo.profiles import ImportJobFailed, sync_profiles
from marketing_pipeline.activation.klaviyo.subscriptions import sync_subscriptions
from marketing_pipeline.activation.sync_history import SyncCounts, recorded_sync
from marketing_pipeline.brand_partitions import brand_of, build_brand_partitions
from marketing_pipeline.brand_resources import for_brand
from marketing_pipeline.http import VendorError
from marketing_pipeline.ingest import ingest_errors
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.warehouse import WarehouseResource

ACTIVATION_RETRY_POLICY = dg.RetryPolicy(
    max_retries=2, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
COMMON = dict(
    group_name="activation",
    pool="klaviyo_api",
    kinds={"klaviyo", "postgres"},
    retry_policy=ACTIVATION_RETRY_POLICY,
)


def _result(counts: SyncCounts, stats) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={**counts.metadata(), **stats.metadata()})


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, (httpx.TransportError, ImportJobFailed, psycopg.OperationalError)) or (
        isinstance(exc, VendorError) and exc.retryable
    )


def _run(
    context, klaviyo: KlaviyoResource, warehouse: WarehouseResource, sync: str, work
) -> dg.MaterializeResult:
    # Only outages are retried (after the client's own retries); anything else fails at once.
    brand = brand_of(context)
    klaviyo, warehouse = for_brand(klaviyo, brand, "klaviyo"), warehouse.for_brand(brand)
    with (
        ingest_errors(f"klaviyo.{sync}", context.run.run_id),
        klaviyo.client() as client,
        warehouse.connection() as conn,
    ):
        try:
            with recorded_sync(conn, "klaviyo", sync, context.run.run_id) as counts:
                work(conn, client, counts)
        except Exception as exc:
            if _transient(exc) or isinstance(exc, (dg.Failure, VendorError)):
                raise
            raise dg.Failure(f"{brand.id} klaviyo {sync} sync failed: {exc!r}", allow_retries=False) from exc
        if counts.failed:
            context.log.warning(
                f"{brand.id} klaviyo {sync}: {counts.failed} refused by Klaviyo; first: {counts.errors[:3]}"
            )
        result = _result(counts, client.stats)
        return dg.MaterializeResult(metadata={"brand": brand.id, **(result.metadata or {})})


# The model activation reads (asset keys, so activation imports nothing from the marts package).
CORE_CUSTOMERS, CORE_ORDERS = dg.AssetKey("core_customers"), dg.AssetKey("core_orders")
CUSTOMER_NAMES, SEGMENTS = dg.AssetKey("core_customer_names"), dg.AssetKey("customer_segments")


PROFILES = dg.AssetKey("klaviyo_profile_sync")
NAMES = ("klaviyo_profile_sync", "klaviyo_order_event_sync", "klaviyo_list_sync", "klaviyo_subscription_sync")


@cache
def _built(brand_ids: tuple[str, ...]) -> dict[str, dg.AssetsDefinition]:
    partitions = build_brand_partitions("klaviyo")

    @dg.asset(
        **COMMON,
        partitions_def=partitions,
        deps=[CORE_CUSTOMERS, CORE_ORDERS, CUSTOMER_NAMES, SEGMENTS],
        description="Warehouse customers as Klaviyo profiles (bulk import jobs); rejects in "
        "ops.klaviyo_import_rejects with Klaviyo's reasons.",
    )
    def klaviyo_profile_sync(
        context: dg.AssetExecutionContext,
        config: ProfileSyncConfig,
        klaviyo: KlaviyoResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        return _run(
            context,
            klaviyo,
            warehouse,
            "profiles",
            lambda conn, client, counts: sync_profiles(
                conn,
                client,
                context.run.run_id,
                counts,
                config.poll_interval_seconds,
                config.poll_timeout_seconds,
            ),
        )

    @dg.asset(
        **COMMON,
        partitions_def=partitions,
        deps=[PROFILES, CORE_ORDERS],
        description="A Placed Order event per warehouse order, sent once (unique_id = order id).",
    )
    def klaviyo_order_event_sync(
        context: dg.AssetExecutionContext,
        config: EventSyncConfig,
        klaviyo: KlaviyoResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        return _run(
            context,
            klaviyo,
            warehouse,
            "order_events",
            lambda conn, client, counts: sync_order_events(
                conn, client, context.run.run_id, counts, config.backfill_after_hours, config.since_days
            ),
        )

    @dg.asset(
        **COMMON,
        partitions_def=partitions,
        deps=[PROFILES, SEGMENTS, dg.AssetKey("consent_sync")],
        description="Lists equal to marts segments (All Customers, New Subscribers, VIP, Active, and any "
        "configured); suppressed people are in none.",
    )
    def klaviyo_list_sync(
        context: dg.AssetExecutionContext,
        config: ListConfig,
        klaviyo: KlaviyoResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        return _run(
            context,
            klaviyo,
            warehouse,
            "lists",
            lambda conn, client, counts: sync_lists(conn, client, counts, config),
        )

    @dg.asset(
        **COMMON,
        partitions_def=partitions,
        deps=[klaviyo_profile_sync],
        description="Email marketing subscriptions for profiles with recorded consent, never for suppressed ones.",
    )
    def klaviyo_subscription_sync(
        context: dg.AssetExecutionContext, klaviyo: KlaviyoResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        return _run(
            context,
            klaviyo,
            warehouse,
            "subscriptions",
            lambda conn, client, counts: sync_subscriptions(conn, client, context.run.run_id, counts),
        )

    return {
        a.key.path[-1]: a
        for a in (
            klaviyo_profile_sync,
            klaviyo_order_event_sync,
            klaviyo_list_sync,
            klaviyo_subscription_sync,
        )
    }


def build() -> dict[str, dg.AssetsDefinition]:
    """The four syncs, partitioned by the brands that use Klaviyo in the brands file as it is now."""
    return _built(tuple(b.id for b in brand_settings.load() if "klaviyo" in b.vendors))


def __getattr__(name: str):
    if name in NAMES:
        return build()[name]
    raise AttributeError(name)
