"""What every ingestion asset shares: brand × day partitions, retry and backfill policies,
metadata, keeping bad records.

Every ingestion asset is partitioned by brand × day (``brand_partitions.build_brand_day_partitions``
of its vendor: only the brands that use the vendor). A run covers one brand's days: ``ingest_scope``
gives that brand, its days (cut in its own time zone by the asset), its warehouse and the vendor
resource holding its account.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TypeVar

import dagster as dg

from marketing_pipeline.brand_partitions import BRAND, brand_days, build_brand_day_partitions
from marketing_pipeline.brand_resources import for_brand
from marketing_pipeline.http import AuthError, CallStats, MalformedRecord, MissingCredentials, VendorError
from marketing_pipeline.pools import POOL_LIMITS
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.warehouse import WarehouseResource, record_dead_letter

R = TypeVar("R", bound=dg.ConfigurableResource)

# Whole-run retries for what the client's own retries could not ride out (a long outage).
INGEST_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
# Backfills batch days per run; one failing batch does not fail the others.
INGEST_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=14)
# Every daily-partitioned raw asset, whichever vendor it comes from: what the ingest jobs select.
RAW_ASSETS = dg.AssetSelection.tag("layer", "raw")
# The op tag naming the vendor API an ingestion step calls (its pool): within a run the executor
# runs at most POOL_LIMITS[api] of its steps at once, and a run covers one brand's account (pools.py).
API_TAG = "vendor_api"
JOB_BRANDS_KEY = "brands"  # an ingestion job's metadata: the brands its assets have partitions for


def ingest_run_args(vendor: str, api: str | None = None) -> dict:
    """What every ingestion asset (or multi-asset) of ``vendor`` shares: brand × day partitions of
    the brands using the vendor, the API it calls (``<vendor>_api`` unless shared), policies."""
    return {
        "partitions_def": build_brand_day_partitions(vendor),
        "op_tags": {API_TAG: api or f"{vendor}_api"},
        "retry_policy": INGEST_RETRY_POLICY,
        "backfill_policy": INGEST_BACKFILL_POLICY,
    }


def ingest_asset_args(group: str, vendor: str, api: str | None = None) -> dict:
    """``@dg.asset(**ingest_asset_args(...))``: the run arguments plus group, kind and the raw-layer tag
    that puts the asset in ``RAW_ASSETS`` (the ``daily_ingest`` jobs)."""
    return {
        **ingest_run_args(vendor, api),
        "group_name": group,
        "kinds": {"postgres"},
        "tags": {"layer": "raw"},
    }


def ingest_scope(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, resource: R, vendor: str
) -> tuple[Brand, list[date], WarehouseResource, R]:
    """The run's brand, its days, that brand's warehouse and ``resource`` with that brand's account.

    A run over several brands (a backfill of fewer days than brands: Dagster then plans one run
    per day over every brand) fails at once, without retries, naming them."""
    try:
        brand, days = brand_days(context)
    except ValueError as exc:
        raise dg.Failure(
            f"{exc}: launch the backfill per brand, or over more days than brands", allow_retries=False
        ) from None
    return brand, days, warehouse.for_brand(brand), for_brand(resource, brand, vendor)


def ingest_metadata(stats: CallStats, rows: int, **extra: int) -> dict:
    return {"dagster/row_count": rows, "rows": rows, **stats.metadata(), **extra}


@contextmanager
def ingest_errors(source: str, run_id: str, url: str | None = None) -> Iterator[None]:
    """Turn errors a retry cannot fix into a ``Failure`` that Dagster does not retry.

    A malformed record is stored in ``ops.dead_letters`` first (of the warehouse at ``url``: the
    run's brand's; None: the default brand's). Retryable vendor errors
    (429/5xx after the client's own retries, dropped connections) propagate unchanged,
    so the asset's ``RetryPolicy`` tries the run again later.
    """
    try:
        yield
    except MalformedRecord as exc:
        record_dead_letter(source, str(exc), exc.payload, run_id=run_id, url=url)
        raise dg.Failure(str(exc), metadata={"dead_letter_source": source}, allow_retries=False) from exc
    except (AuthError, MissingCredentials) as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc
    except VendorError as exc:
        if exc.retryable:
            raise
        raise dg.Failure(str(exc), allow_retries=False) from exc


def brands_of(partitions_def: dg.PartitionsDefinition | None) -> tuple[str, ...]:
    """The brands a brand × day partitioning covers (none for any other)."""
    if not isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return ()
    return tuple(partitions_def.get_partitions_def_for_dimension(BRAND).get_partition_keys())


def ingest_jobs(
    name: str, assets: list[dg.AssetsDefinition], **job_args
) -> list[dg.UnresolvedAssetJobDefinition]:
    """The ingestion jobs over ``assets`` (those of ``RAW_ASSETS``): one per set of brands.

    A job's assets share one partitioning, and a vendor's assets have partitions only for the brands
    that use it. So the assets every brand uses form ``name`` (a deployment of one brand, or whose
    brands all use the same vendors, has only that job) and the others ``<name>_for_<brand>_<brand>``.
    """
    groups: dict[tuple[str, ...], list[dg.AssetKey]] = {}
    for a in assets:
        groups.setdefault(brands_of(a.partitions_def), []).extend(a.keys)
    widest = max(groups, key=len, default=())
    return [
        dg.define_asset_job(
            name if ids == widest else f"{name}_for_{'_'.join(ids)}",
            selection=dg.AssetSelection.assets(*sorted(keys)),
            metadata={JOB_BRANDS_KEY: {"brands": list(ids)}},
            **job_args,
        )
        for ids, keys in sorted(groups.items(), key=lambda g: (g[0] != widest, g[0]))
    ]


def raw_assets(components: list[dg.Definitions]) -> list[dg.AssetsDefinition]:
    """The ingestion assets (tag ``layer=raw``, ``RAW_ASSETS``) of the components' definitions."""
    return [
        a
        for d in components
        for a in d.assets or []
        if isinstance(a, dg.AssetsDefinition) and any(s.tags.get("layer") == "raw" for s in a.specs)
    ]


def ingest_executor() -> dg.ExecutorDefinition:
    """The default executor (multiprocess): in a run, at most ``POOL_LIMITS[api]`` steps tagged with
    that vendor API at once. A run covers one brand, so this caps calls per brand account, and the
    run queue (dagster.yaml, run_queue.py: tag ``brand``) caps each brand's runs; no brand waits
    for another's quota."""
    limits = [{"key": API_TAG, "value": api, "limit": n} for api, n in sorted(POOL_LIMITS.items())]

    @dg.configured(
        dg.multiprocess_executor,
        config_schema={"max_concurrent": dg.Field(int, is_required=False, description="steps at once")},
    )
    def multiprocess_per_vendor_api(config: dict) -> dict:
        return {**config, "tag_concurrency_limits": limits}

    return multiprocess_per_vendor_api
