"""What every ingestion asset shares: retry and backfill policies, metadata, keeping bad records."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from marketing_pipeline.http import AuthError, CallStats, MalformedRecord, MissingCredentials, VendorError
from marketing_pipeline.warehouse import record_dead_letter

# Whole-run retries for what the client's own retries could not ride out (a long outage).
INGEST_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
# Backfills batch days per run; one failing batch does not fail the others.
INGEST_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=14)


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
