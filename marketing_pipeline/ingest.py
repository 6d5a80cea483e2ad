"""What every ingestion asset shares: retry and backfill policies, metadata, keeping bad records."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from marketing_pipeline.http import AuthError, CallStats, MalformedRecord, MissingCredentials, VendorError
from marketing_pipeline.partitions import daily_partitions
from marketing_pipeline.warehouse import record_dead_letter

# Whole-run retries for what the client's own retries could not ride out (a long outage).
INGEST_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
# Backfills batch days per run; one failing batch does not fail the others.
INGEST_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=14)
# Every daily-partitioned raw asset, whichever vendor it comes from: what the ingest jobs select.
RAW_ASSETS = dg.AssetSelection.tag("layer", "raw")


def ingest_run_args(pool: str) -> dict:
    """What every ingestion asset (or multi-asset) shares: daily partitions, its vendor pool, policies."""
    return {
        "partitions_def": daily_partitions,
        "pool": pool,
        "retry_policy": INGEST_RETRY_POLICY,
        "backfill_policy": INGEST_BACKFILL_POLICY,
    }


def ingest_asset_args(group: str, pool: str) -> dict:
    """``@dg.asset(**ingest_asset_args(...))``: the run arguments plus group, kind and the raw-layer tag
    that puts the asset in ``RAW_ASSETS`` (the ``daily_ingest`` jobs)."""
    return {**ingest_run_args(pool), "group_name": group, "kinds": {"postgres"}, "tags": {"layer": "raw"}}


def ingest_metadata(stats: CallStats, rows: int, **extra: int) -> dict:
    return {"dagster/row_count": rows, "rows": rows, **stats.metadata(), **extra}


@contextmanager
def ingest_errors(source: str, run_id: str) -> Iterator[None]:
    """Turn errors a retry cannot fix into a ``Failure`` that Dagster does not retry.

    A malformed record is stored in ``ops.dead_letters`` first. Retryable vendor errors
    (429/5xx after the client's own retries, dropped connections) propagate unchanged,
    so the asset's ``RetryPolicy`` tries the run again later.
    """
    try:
        yield
    except MalformedRecord as exc:
        record_dead_letter(source, str(exc), exc.payload, run_id=run_id)
        raise dg.Failure(str(exc), metadata={"dead_letter_source": source}, allow_retries=False) from exc
    except (AuthError, MissingCredentials) as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc
    except VendorError as exc:
        if exc.retryable:
            raise
        raise dg.Failure(str(exc), allow_retries=False) from exc
