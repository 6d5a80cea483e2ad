"""``klaviyo_events`` with ``klaviyo_orders`` and ``klaviyo_order_lines``: one pass over a day's events.

A run's days are read with ``greater-or-equal(datetime,start)`` and ``less-than(datetime,end)`` (the
brand-local bounds), so a boundary event belongs to exactly one day, and the event's own datetime
picks its partition.
Each event is decoded from the bytes Klaviyo sent (msgspec, typed; models.Event) and stored as
that text, never re-serialized. Rows are built in the thread that fetches the pages, so parsing
overlaps the COPY; the events go into one COPY stream per run, and the orders and lines (a few in
a hundred events) follow in one stream each. The run's days are replaced in one transaction.
"""

import json
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation

import dagster as dg

from marketing_pipeline.http import MalformedRecord
from marketing_pipeline.ingest import (
    ingest_errors,
    ingest_metadata,
    ingest_run_args,
    ingest_scope,
)
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sources.klaviyo import streams
from marketing_pipeline.sources.klaviyo.models import Event, parse_event, placed_order
from marketing_pipeline.sources.klaviyo.prefetch import prefetch
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.warehouse import WarehouseResource, copy_rows, delete_partitions

EVENTS, ORDERS, LINES = "raw.klaviyo_events", "raw.klaviyo_orders", "raw.klaviyo_order_lines"
EVENT_COLUMNS = (
    "event_id",
    "metric_id",
    "metric_name",
    "profile_id",
    "occurred_at",
    "value",
    "unique_key",
    "message_id",
    "flow_id",
    "attributed_message_id",
    "attributed_campaign_id",
    "attributed_flow_id",
    "payload",
    "partition_date",
    "_run_id",
)
ORDER_COLUMNS = (
    "event_id",
    "order_id",
    "profile_id",
    "placed_at",
    "value",
    "currency",
    "subtotal",
    "discount_code",
    "discount_value",
    "shipping",
    "tax",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "categories",
    "brands",
    "item_count",
    "attributed_campaign_id",
    "attributed_message_id",
    "payload",
    "partition_date",
    "_run_id",
)
LINE_COLUMNS = (
    "event_id",
    "order_id",
    "line_number",
    "product_id",
    "sku",
    "product_name",
    "quantity",
    "item_price",
    "row_total",
    "discount",
    "categories",
    "brand",
    "payload",
    "partition_date",
    "_run_id",
)


def _value(event: Event, raw: bytes) -> Decimal | None:
    value = event.attributes.event_properties.get("$value")
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        return Decimal(str(value))
    except InvalidOperation:
        raise MalformedRecord(
            "Klaviyo",
            "event",
            event.id,
            f"attributes.event_properties.$value: {value!r} is not a number",
            json.loads(raw),
        ) from None


class DayLoader:
    """Turns event pages into rows for the three tables, deciding each event's partition."""

    def __init__(self, metric_names: dict[str, str], wanted: set[str], days: set[date], tz, run_id: str):
        self.metric_names, self.wanted, self.days, self.tz, self.run_id = (
            metric_names,
            wanted,
            days,
            tz,
            run_id,
        )
        self.counts = {"events": 0, "orders": 0, "lines": 0, "skipped_metrics": 0}

    def rows(self, page: list[bytes]) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """Rows of one page, each event given as its JSON text."""
        events, orders, lines = [], [], []
        for raw in page:
            ev = parse_event(raw)
            metric_id, profile_id = ev.related_id("metric"), ev.related_id("profile")
            if not metric_id:
                raise MalformedRecord(
                    "Klaviyo", "event", ev.id, "relationships.metric.data: missing", json.loads(raw)
                )
            name = self.metric_names.get(metric_id)
            if name not in self.wanted:
                self.counts["skipped_metrics"] += 1
                continue
            when = ev.attributes.datetime
            if when.tzinfo is None:
                raise MalformedRecord(
                    "Klaviyo", "event", ev.id, "attributes.datetime: no UTC offset", json.loads(raw)
                )
            day = when.astimezone(self.tz).date()  # the event's own time decides its partition
            if day not in self.days:
                raise MalformedRecord(
                    "Klaviyo",
                    "event",
                    ev.id,
                    f"attributes.datetime: {when.isoformat()} is outside the requested days",
                    json.loads(raw),
                )
            props = ev.attributes.event_properties
            attribution = props.get("$attribution") if isinstance(props.get("$attribution"), dict) else {}
            events.append(
                (
                    ev.id,
                    metric_id,
                    name,
                    profile_id,
                    when,
                    _value(ev, raw),
                    props.get("$event_id"),
                    props.get("$message"),
                    props.get("$flow"),
                    attribution.get("$message"),
                    attribution.get("$campaign"),
                    attribution.get("$flow"),
                    raw.decode(),  # the event as sent: jsonb parses it, nothing re-serializes it
                    day,
                    self.run_id,
                )
            )
            if name == "Placed Order":
                order = placed_order(ev, json.loads(raw))
                orders.append(
                    (
                        ev.id,
                        order.order_id,
                        profile_id,
                        when,
                        order.value,
                        order.currency,
                        order.subtotal,
                        order.discount_code,
                        order.discount_value,
                        order.shipping,
                        order.tax,
                        order.source,
                        order.utm_source,
                        order.utm_medium,
                        order.utm_campaign,
                        order.categories,
                        order.brands,
                        sum(i.quantity for i in order.items),
                        attribution.get("$campaign"),
                        attribution.get("$message"),
                        json.dumps(props),
                        day,
                        self.run_id,
                    )
                )
                raw_items = props.get("Items") or props.get("items") or []
                for n, (item, raw_item) in enumerate(zip(order.items, raw_items, strict=True), start=1):
                    lines.append(
                        (
                            ev.id,
                            order.order_id,
                            n,
                            item.product_id,
                            item.sku,
                            item.product_name,
                            item.quantity,
                            item.item_price,
                            item.row_total,
                            item.discount,
                            item.categories,
                            item.brand,
                            json.dumps(raw_item),
                            day,
                            self.run_id,
                        )
                    )
        self.counts["events"] += len(events)
        self.counts["orders"] += len(orders)
        self.counts["lines"] += len(lines)
        return events, orders, lines


def spans(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days grouped: [(first, last), ...]."""
    out: list[tuple[date, date]] = []
    for day in sorted(days):
        if out and (day - out[-1][1]).days == 1:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def load_events(
    conn, client, days: list[date], tz, run_id: str, wanted: set[str] | None = None
) -> dict[str, int]:
    """Replace ``days`` of the three tables with what Klaviyo returns (caller's transaction)."""
    metric_names = {m["id"]: (m.get("attributes") or {}).get("name") for m in streams.metrics(client)}
    loader = DayLoader(metric_names, set(wanted or streams.METRICS), set(days), tz, run_id)
    for table in (EVENTS, ORDERS, LINES):
        delete_partitions(conn, table, days)

    def built() -> Iterator[tuple[list[tuple], list[tuple], list[tuple]]]:
        # one stream per run of consecutive days: full pages, and each event's datetime picks its day
        for first, last in spans(days):
            start, end = day_bounds(first, tz)[0], day_bounds(last, tz)[1]
            for page in streams.raw_event_pages(client, start, end):
                yield loader.rows(page)

    orders: list[tuple] = []
    lines: list[tuple] = []

    def events() -> Iterable[tuple]:
        for page_events, page_orders, page_lines in prefetch(built()):  # rows built in the fetch thread
            orders.extend(page_orders)
            lines.extend(page_lines)
            yield from page_events

    copy_rows(conn, EVENTS, EVENT_COLUMNS, events())
    copy_rows(conn, ORDERS, ORDER_COLUMNS, orders)
    copy_rows(conn, LINES, LINE_COLUMNS, lines)
    return loader.counts


def _spec(name: str, description: str, deps: tuple = ()) -> dg.AssetSpec:
    return dg.AssetSpec(
        name,
        group_name="klaviyo",
        kinds={"postgres"},
        tags={"layer": "raw"},
        description=description,
        deps=list(deps),
    )


@dg.multi_asset(
    specs=[
        _spec(
            "klaviyo_events",
            "Klaviyo events of the metrics that matter (orders, checkouts, email engagement, "
            "site activity, subscriptions, refunds), partitioned by each event's brand-local day.",
        ),
        _spec(
            "klaviyo_orders",
            "Orders parsed from Placed Order events: value, currency, discount, shipping, "
            "UTM parameters, categories, brands and attribution.",
        ),
        _spec("klaviyo_order_lines", "Order lines (items and quantities) of Placed Order events."),
    ],
    **ingest_run_args("klaviyo"),
)
def klaviyo_events(
    context: dg.AssetExecutionContext, klaviyo: KlaviyoResource, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    brand, days, warehouse, klaviyo = ingest_scope(context, warehouse, klaviyo, "klaviyo")
    tz = brand.tz
    with ingest_errors("klaviyo.events", context.run.run_id, warehouse.url()), klaviyo.client() as client:
        with warehouse.transaction() as conn:
            counts = load_events(conn, client, days, tz, context.run.run_id)
        stats = client.stats
    context.log.info(f"loaded {counts} for {days[0]}..{days[-1]}")
    yield dg.MaterializeResult(
        asset_key="klaviyo_events",
        metadata=ingest_metadata(
            stats, rows=counts["events"], days=len(days), skipped_other_metrics=counts["skipped_metrics"]
        ),
    )
    yield dg.MaterializeResult(
        asset_key="klaviyo_orders", metadata={"dagster/row_count": counts["orders"], "rows": counts["orders"]}
    )
    yield dg.MaterializeResult(
        asset_key="klaviyo_order_lines",
        metadata={"dagster/row_count": counts["lines"], "rows": counts["lines"]},
    )
