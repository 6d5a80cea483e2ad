"""GA4 report assets: one brand-local day per partition (the property's calendar day), replaced atomically.

GA4 keeps processing recent days (late hits, attribution), so the last ~3 days change after
the fact; the daily schedule re-reads ``LOOKBACK_DAYS`` (7 by default), which covers that.
When a day has more distinct rows than GA4 keeps, it folds the rest into an ``(other)`` row;
those rows are kept (``is_other``) and counted in the materialization metadata.
"""

from collections.abc import Iterator

import dagster as dg

from marketing_pipeline.ingest import (
    ingest_asset_args,
    ingest_errors,
    ingest_metadata,
    ingest_scope,
)
from marketing_pipeline.sources.ga4.client import GA4Client
from marketing_pipeline.sources.ga4.reports import REPORTS, Report
from marketing_pipeline.sources.ga4.resource import GA4Resource
from marketing_pipeline.warehouse import WarehouseResource, replace_partitions


class _Tally:
    def __init__(self):
        self.other_rows = 0
        self.other_days: set[str] = set()
        self.data_loss = False


def _rows(client: GA4Client, report: Report, days, run_id: str, tally: _Tally) -> Iterator[tuple]:
    wanted = set(days)
    for page in client.run_report(report.body(days[0], days[-1])):
        tally.data_loss |= page.metadata.data_loss_from_other_row
        for row in report.rows(page.records(), client.property, wanted, run_id):
            if row[-4]:  # is_other
                tally.other_rows += 1
                tally.other_days.add(row[1].isoformat())
            yield row


def build_report_asset(report: Report) -> dg.AssetsDefinition:
    @dg.asset(
        name=report.name,
        **ingest_asset_args("ga4", "ga4"),
        description=report.description + " GA4 revises the last ~3 days; the daily refresh re-reads them.",
    )
    def _asset(
        context: dg.AssetExecutionContext, ga4: GA4Resource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        _, days, warehouse, ga4 = ingest_scope(context, warehouse, ga4, "ga4")
        tally = _Tally()
        with ingest_errors(f"ga4.{report.name}", context.run.run_id, warehouse.url()), ga4.client() as client:
            with warehouse.transaction() as conn:
                rows = replace_partitions(
                    conn,
                    report.table,
                    report.columns,
                    _rows(client, report, days, context.run.run_id, tally),
                    days,
                )
            stats, quota = client.stats, client.last_quota
        if tally.other_rows:
            context.log.warning(f"GA4 folded rows into (other) on {sorted(tally.other_days)}")
        metadata = ingest_metadata(stats, rows=rows, days=len(days), other_rows=tally.other_rows)
        metadata["other_row_days"] = dg.MetadataValue.json(sorted(tally.other_days))
        metadata["data_loss_from_other_row"] = tally.data_loss
        if quota and isinstance(quota.get("tokensPerHour"), dict):
            metadata["quota_tokens_per_hour_remaining"] = quota["tokensPerHour"].get("remaining")
        return dg.MaterializeResult(metadata=metadata)

    return _asset


ga4_assets = [build_report_asset(r) for r in REPORTS]
