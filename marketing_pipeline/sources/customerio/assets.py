"""Customer.io reporting into raw tables, one brand-local day per partition, each run one transaction.

``customerio_deliveries``: every message delivery created that day with its furthest state;
unsubscribed, bounced and spammed recipients are suppressed in ``ops.suppressions``.
``customerio_campaign_metrics``: the campaign/newsletter/broadcast catalog and each one's daily counts.
"""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from marketing_pipeline import clock, consent
from marketing_pipeline.ingest import (
    ingest_asset_args,
    ingest_errors,
    ingest_metadata,
    ingest_scope,
)
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sources.customerio.client import V1_MAX_DAY_STEPS, CustomerIoAppClient
from marketing_pipeline.sources.customerio.models import (
    DAILY_METRICS,
    SUPPRESSING_STATES,
    CatalogItem,
    Delivery,
    ts,
)
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.warehouse import WarehouseResource, copy_rows, delete_partitions, upsert_rows

DELIVERIES_TABLE = "raw.customerio_deliveries"
CATALOG_TABLE = "raw.customerio_campaigns"
METRICS_TABLE = "raw.customerio_campaign_metrics"
TIMED_METRICS = ("sent", "delivered", "opened", "clicked", "converted", "bounced", "spammed", "unsubscribed")
DELIVERY_COLUMNS = (
    "delivery_id",
    "customer_id",
    "email",
    "recipient",
    "subject",
    "type",
    "state",
    "campaign_id",
    "newsletter_id",
    "broadcast_id",
    "action_id",
    "created_at",
    *(f"{m}_at" for m in TIMED_METRICS),
    "failure_message",
    "payload",
    "partition_date",
    "_run_id",
)
CATALOG_COLUMNS = ("kind", "object_id", "name", "state", "created_at", "updated_at", "payload", "_run_id")
NEWSLETTER_TRAIL_DAYS = 7  # a newsletter's opens and clicks trail its send by days


def delivery_row(d: Delivery, day: date, run_id: str) -> tuple:
    return (
        d.id,
        d.person_id,
        d.email,
        d.recipient,
        d.subject,
        d.type,
        d.state,
        d.campaign_id,
        d.newsletter_id,
        d.broadcast_id,
        d.action_id,
        ts(d.created),
        *(d.at(m) for m in TIMED_METRICS),
        d.failure_message,
        json.dumps(d.raw),
        day,
        run_id,
    )


COMMON = ingest_asset_args("customerio", "customerio")


@dg.asset(
    **COMMON,
    description="Customer.io message deliveries created on the partition's brand-local day "
    "(GET /v1/messages) with their furthest state (raw.customerio_deliveries). Unsubscribed, bounced and "
    "spammed recipients are added to ops.suppressions.",
)
def customerio_deliveries(
    context: dg.AssetExecutionContext, customerio: CustomerIoResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, days, warehouse, customerio = ingest_scope(context, warehouse, customerio, "customerio")
    tz = brand.tz
    rows = suppressed = 0
    states: dict[str, int] = {}
    with (
        ingest_errors("customerio.deliveries", context.run.run_id, warehouse.url()),
        customerio.app_client() as client,
    ):
        with warehouse.transaction() as conn:
            delete_partitions(conn, DELIVERIES_TABLE, days)
            for day in days:
                for page in client.deliveries(*day_bounds(day, tz)):
                    rows += copy_rows(
                        conn,
                        DELIVERIES_TABLE,
                        DELIVERY_COLUMNS,
                        (delivery_row(d, day, context.run.run_id) for d in page),
                    )
                    for d in page:
                        states[d.state] = states.get(d.state, 0) + 1
                        if d.state in SUPPRESSING_STATES and d.email:
                            consent.suppress(
                                conn, d.email, "customerio", SUPPRESSING_STATES[d.state], d.at(d.state)
                            )
                            suppressed += 1
        stats = client.stats
    context.log.info(f"loaded {rows} deliveries for {days[0]}..{days[-1]}; {suppressed} suppressions")
    return dg.MaterializeResult(
        metadata={
            **ingest_metadata(stats, rows=rows, suppressions=suppressed, days=len(days)),
            "states": dg.MetadataValue.json(states),
        }
    )


def catalog_row(kind: str, item: CatalogItem, run_id: str) -> tuple:
    return (
        kind,
        item.id,
        item.name,
        item.state or item.type,
        ts(item.created),
        ts(item.updated),
        json.dumps(item.raw),
        run_id,
    )


def metric_rows(
    kind: str, object_id: int, series: dict[str, list[int]], first: date, days: list[date], run_id: str
) -> list[tuple]:
    """One row per wanted day with any count; series index 0 is ``first``."""
    out = []
    for day in days:
        i = (day - first).days
        values = {m: v[i] for m, v in series.items() if 0 <= i < len(v)}
        if any(values.values()):
            out.append(
                (
                    kind,
                    object_id,
                    day,
                    *(int(values.get(m, 0)) for m in DAILY_METRICS),
                    json.dumps(values),
                    run_id,
                )
            )
    return out


def v1_window(days: list[date], today: date) -> tuple[int, date, list[date]]:
    """Version-1 metrics end today: the steps to ask for, the first day they cover, and the days they reach."""
    steps = min(V1_MAX_DAY_STEPS, max(1, (today - days[0]).days + 1))
    first = today - timedelta(days=steps - 1)
    return steps, first, [d for d in days if first <= d <= today]


def collect_metrics(
    client: CustomerIoAppClient, days: list[date], tz_name: str, today: date, run_id: str
) -> tuple[list[tuple], list[tuple], int]:
    tz = ZoneInfo(tz_name)
    catalog: list[tuple] = []
    rows: list[tuple] = []
    start, end = day_bounds(days[0], tz)[0], day_bounds(days[-1], tz)[1]
    for c in client.campaigns():
        catalog.append(catalog_row("campaign", c, run_id))
        rows += metric_rows(
            "campaign", c.id, client.campaign_metrics(c.id, start, end, tz_name), days[0], days, run_id
        )
    steps, first, reachable = v1_window(days, today)
    newsletters = [n for page in client.newsletters() for n in page]
    broadcasts = client.broadcasts()
    catalog += [catalog_row("newsletter", n, run_id) for n in newsletters]
    catalog += [catalog_row("broadcast", b, run_id) for b in broadcasts]
    if reachable:
        lo = reachable[0] - timedelta(days=NEWSLETTER_TRAIL_DAYS)
        for n in newsletters:
            sent = n.raw.get("sent_at")
            if sent and lo <= datetime.fromtimestamp(sent, tz).date() <= reachable[-1]:
                rows += metric_rows(
                    "newsletter", n.id, client.v1_metrics("newsletter", n.id, steps), first, reachable, run_id
                )
        for b in broadcasts:
            rows += metric_rows(
                "broadcast", b.id, client.v1_metrics("broadcast", b.id, steps), first, reachable, run_id
            )
    return catalog, rows, len(days) - len(reachable)


@dg.asset(
    **COMMON,
    description="Customer.io campaigns, newsletters and API-triggered broadcasts "
    "(raw.customerio_campaigns, upserted) and their counts per brand-local day "
    "(raw.customerio_campaign_metrics). Campaigns use metrics version 2 (res=days, tz); newsletters "
    "and broadcasts version 1, which reaches back 45 days.",
)
def customerio_campaign_metrics(
    context: dg.AssetExecutionContext, customerio: CustomerIoResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, days, warehouse, customerio = ingest_scope(context, warehouse, customerio, "customerio")
    today = clock.today(brand.tz)
    with (
        ingest_errors("customerio.campaign_metrics", context.run.run_id, warehouse.url()),
        customerio.app_client() as client,
    ):
        catalog, rows, unreachable = collect_metrics(client, days, brand.timezone, today, context.run.run_id)
        with warehouse.transaction() as conn:
            upsert_rows(conn, CATALOG_TABLE, CATALOG_COLUMNS, catalog, key=("kind", "object_id"))
            delete_partitions(conn, METRICS_TABLE, days)
            copy_rows(
                conn,
                METRICS_TABLE,
                ("kind", "object_id", "partition_date", *DAILY_METRICS, "payload", "_run_id"),
                rows,
            )
        stats = client.stats
    if unreachable:
        context.log.warning(
            f"{unreachable} day(s) are older than version-1 metrics reach (45 days): "
            "newsletter and broadcast counts for them are not available"
        )
    return dg.MaterializeResult(
        metadata=ingest_metadata(
            stats, rows=len(rows), catalog=len(catalog), days=len(days), v1_days_unavailable=unreachable
        )
    )
