"""``sendgrid_suppressions``: SendGrid's unsubscribes, bounces and spam reports into ``ops.suppressions``."""

from datetime import UTC, datetime

import dagster as dg

from marketing_pipeline.consent import suppress
from marketing_pipeline.ingest import INGEST_RETRY_POLICY, ingest_errors, ingest_metadata
from marketing_pipeline.sources.sendgrid.client import SUPPRESSION_LISTS
from marketing_pipeline.sources.sendgrid.resource import SendGridResource
from marketing_pipeline.warehouse import WarehouseResource


@dg.asset(
    group_name="sendgrid",
    pool="sendgrid_api",
    retry_policy=INGEST_RETRY_POLICY,
    kinds={"postgres"},
    description="Every address SendGrid will not mail (unsubscribes, bounces, spam reports), recorded as "
    "suppressions with source 'sendgrid' so no sender in the project emails them.",
)
def sendgrid_suppressions(
    context: dg.AssetExecutionContext, sendgrid: SendGridResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    counts = dict.fromkeys(SUPPRESSION_LISTS, 0)
    with ingest_errors("sendgrid.suppressions", context.run.run_id), sendgrid.client() as client:
        with warehouse.transaction() as conn:
            for kind, reason in SUPPRESSION_LISTS.items():
                for page in client.suppression_pages(kind):
                    for row in page:
                        at = datetime.fromtimestamp(int(row["created"]), UTC) if row.get("created") else None
                        suppress(conn, row["email"], "sendgrid", reason, at)
                        counts[kind] += 1
        stats = client.stats
    context.log.info(f"suppressions from SendGrid: {counts}")
    return dg.MaterializeResult(metadata=ingest_metadata(stats, rows=sum(counts.values()), **counts))
