"""Campaign and flow performance from Klaviyo's reporting API, within its 1/s, 2/min, 225/day limits.

How the limits hold: a run makes ONE campaign-values call and ONE flow-series call (daily
interval) for its whole partition range, whatever the number of campaigns, flows or days
(plus a page_cursor call only when a report has more than one page). A two-year backfill in
14-day batches is 53 runs, about 106 calls; the daily refresh adds 2 per re-read day. The
client paces the 1/s and 2/min windows, and before calling, a run counts the account's calls
of the last 24 hours in ``ops.klaviyo_report_calls`` and stops cleanly rather than exceed the
daily cap (re-run it the next day; nothing is half written).
"""

import json
from datetime import datetime, timedelta

import dagster as dg

from marketing_pipeline.ingest import (
    ingest_errors,
    ingest_metadata,
    ingest_run_args,
    ingest_scope,
)
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sources.klaviyo import streams
from marketing_pipeline.sources.klaviyo.models import ReportRow, parse
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.warehouse import WarehouseResource, connect, copy_rows, delete_partitions

DAILY_REPORT_CAP = 225
STATISTICS = [
    "recipients",
    "delivered",
    "opens",
    "opens_unique",
    "clicks",
    "clicks_unique",
    "bounced",
    "unsubscribes",
    "conversions",
    "conversion_value",
]
STAT_COLUMNS = tuple(STATISTICS)
CAMPAIGN_COLUMNS = (
    "partition_date",
    "campaign_id",
    "campaign_message_id",
    "send_channel",
    *STAT_COLUMNS,
    "payload",
    "_run_id",
)
FLOW_COLUMNS = (
    "partition_date",
    "flow_id",
    "flow_message_id",
    "send_channel",
    *STAT_COLUMNS,
    "payload",
    "_run_id",
)
SERIES_MAX_DAYS = 60  # a daily series covers at most 60 days


class ReportBudget:
    """The account-wide daily cap, counted in the warehouse so every run and process sees it."""

    def __init__(self, url: str, run_id: str, cap: int = DAILY_REPORT_CAP):
        self.url, self.run_id, self.cap = url, run_id, cap

    def used(self) -> int:
        with connect(self.url, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM ops.klaviyo_report_calls WHERE called_at > now() - interval '24 hours'"
            ).fetchone()[0]

    def spend(self, report: str) -> None:
        used = self.used()
        if used >= self.cap:
            raise dg.Failure(
                f"Klaviyo reporting budget spent: {used} of {self.cap} calls in the last 24 hours; "
                "re-run these partitions later",
                allow_retries=False,
            )
        with connect(self.url, autocommit=True) as conn:  # kept even if the load rolls back
            conn.execute(
                "INSERT INTO ops.klaviyo_report_calls (report, run_id) VALUES (%s, %s)", (report, self.run_id)
            )


def _timeframe(start: datetime, end: datetime, tz) -> dict:
    # Klaviyo reads start/end in the account's time zone (the offset is ignored): send brand-local wall time.
    return {
        "start": start.astimezone(tz).replace(tzinfo=None).isoformat(),
        "end": end.astimezone(tz).replace(tzinfo=None).isoformat(),
    }


def _stat_values(stats: dict) -> tuple:
    return tuple(stats.get(s) for s in STATISTICS)


def _report(client, budget: ReportBudget, path: str, kind: str, attributes: dict):
    body = {"data": {"type": kind, "attributes": attributes}}
    return client.report_pages(path, body, before_call=lambda _: budget.spend(kind))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "klaviyo_campaign_performance",
            group_name="klaviyo",
            kinds={"postgres"},
            tags={"layer": "raw"},
            description="Per campaign message: recipients, opens, clicks, bounces, unsubscribes, conversions "
            "and revenue (campaign values report), partitioned by the campaign's send day.",
        ),
        dg.AssetSpec(
            "klaviyo_flow_performance",
            group_name="klaviyo",
            kinds={"postgres"},
            tags={"layer": "raw"},
            description="Per flow message and day: the same statistics (flow series report, daily).",
        ),
    ],
    **ingest_run_args("klaviyo"),
)
def klaviyo_performance(
    context: dg.AssetExecutionContext, klaviyo: KlaviyoResource, warehouse: WarehouseResource
):
    brand, days, warehouse, klaviyo = ingest_scope(context, warehouse, klaviyo, "klaviyo")
    tz = brand.tz
    start, end = day_bounds(days[0], tz)[0], day_bounds(days[-1], tz)[1]
    budget = ReportBudget(warehouse.url(), context.run.run_id)
    campaign_rows, flow_rows = [], []
    with (
        ingest_errors("klaviyo.performance", context.run.run_id, warehouse.url()),
        klaviyo.client() as client,
    ):
        metric_ids = {(m.get("attributes") or {}).get("name"): m["id"] for m in streams.metrics(client)}
        conversion = metric_ids.get("Placed Order")
        if not conversion:
            raise dg.Failure(
                "Klaviyo has no 'Placed Order' metric to count conversions by", allow_retries=False
            )
        sent = {
            c["id"]: (c.get("attributes") or {}).get("send_time")
            for c, _ in streams.campaigns(client, "email")
        }
        attrs = {
            "statistics": STATISTICS,
            "timeframe": _timeframe(start, end, tz),
            "conversion_metric_id": conversion,
        }
        for page in _report(client, budget, "/api/campaign-values-reports", "campaign-values-report", attrs):
            for raw in ((page.get("data") or {}).get("attributes") or {}).get("results") or []:
                row = parse(ReportRow, raw, "campaign values result")
                g = row.groupings
                when = sent.get(g.get("campaign_id"))
                day = datetime.fromisoformat(when).astimezone(tz).date() if when else None
                if day in days:  # a campaign's numbers belong to the day it was sent
                    campaign_rows.append(
                        (
                            day,
                            g.get("campaign_id"),
                            g.get("campaign_message_id"),
                            g.get("send_channel") or "email",
                            *_stat_values(row.statistics),
                            json.dumps(raw),
                            context.run.run_id,
                        )
                    )
        chunk = start
        while chunk < end:
            chunk_end = min(end, chunk + timedelta(days=SERIES_MAX_DAYS))
            series = {**attrs, "timeframe": _timeframe(chunk, chunk_end, tz), "interval": "daily"}
            for page in _report(client, budget, "/api/flow-series-reports", "flow-series-report", series):
                attributes = (page.get("data") or {}).get("attributes") or {}
                stamps = attributes.get("date_times") or []
                for raw in attributes.get("results") or []:
                    row = parse(ReportRow, raw, "flow series result")
                    g = row.groupings
                    for i, stamp in enumerate(stamps):
                        values = {
                            k: (v[i] if isinstance(v, list) and i < len(v) else None)
                            for k, v in row.statistics.items()
                        }
                        day = datetime.fromisoformat(stamp).replace(tzinfo=None).date()
                        if day in days and any(values.values()):
                            flow_rows.append(
                                (
                                    day,
                                    g.get("flow_id"),
                                    g.get("flow_message_id"),
                                    g.get("send_channel") or "email",
                                    *_stat_values(values),
                                    json.dumps({"groupings": g, "statistics": values, "date_time": stamp}),
                                    context.run.run_id,
                                )
                            )
            chunk = chunk_end
        stats = client.stats
    with warehouse.transaction() as conn:
        delete_partitions(conn, "raw.klaviyo_campaign_performance", days)
        delete_partitions(conn, "raw.klaviyo_flow_performance", days)
        copy_rows(conn, "raw.klaviyo_campaign_performance", CAMPAIGN_COLUMNS, campaign_rows)
        copy_rows(conn, "raw.klaviyo_flow_performance", FLOW_COLUMNS, flow_rows)
    yield dg.MaterializeResult(
        asset_key="klaviyo_campaign_performance",
        metadata=ingest_metadata(stats, rows=len(campaign_rows), days=len(days)),
    )
    yield dg.MaterializeResult(
        asset_key="klaviyo_flow_performance",
        metadata={"dagster/row_count": len(flow_rows), "rows": len(flow_rows)},
    )
