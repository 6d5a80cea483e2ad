"""Klaviyo's slowly changing objects: metrics, campaigns (with messages), flows (with actions and
messages), lists and segments (with profile counts).

Each is read whole: the current-state tables are upserted, and the partition's days get a
snapshot (the state as read, for the objects that existed by the end of that day), so a run
is idempotent per day and history accumulates day by day.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import dagster as dg

from marketing_pipeline import clock
from marketing_pipeline.http import CallStats
from marketing_pipeline.ingest import (
    ingest_asset_args,
    ingest_errors,
    ingest_metadata,
    ingest_scope,
)
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sources.klaviyo import streams
from marketing_pipeline.sources.klaviyo.models import Resource, parse
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.warehouse import WarehouseResource, copy_rows, delete_partitions, upsert_rows

COMMON = ingest_asset_args("klaviyo", "klaviyo")


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dg.asset(description="Klaviyo metrics (id, name, integration): the names events are read by.", **COMMON)
def klaviyo_metrics(
    context: dg.AssetExecutionContext, klaviyo: KlaviyoResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    _, _, warehouse, klaviyo = ingest_scope(context, warehouse, klaviyo, "klaviyo")
    with ingest_errors("klaviyo.metrics", context.run.run_id, warehouse.url()), klaviyo.client() as client:
        rows = []
        for raw in streams.metrics(client):
            m = parse(Resource, raw, "metric")
            a = m.attributes
            rows.append(
                (
                    m.id,
                    a.get("name") or "",
                    (a.get("integration") or {}).get("name"),
                    _ts(a.get("created")),
                    _ts(a.get("updated")),
                    json.dumps(raw),
                    context.run.run_id,
                )
            )
        with warehouse.transaction() as conn:
            upsert_rows(
                conn,
                "raw.klaviyo_metrics",
                ("metric_id", "name", "integration", "created_at", "updated_at", "payload", "_run_id"),
                rows,
                key=("metric_id",),
            )
        stats = client.stats
    return dg.MaterializeResult(metadata=ingest_metadata(stats, rows=len(rows)))


@dg.asset(
    description="Klaviyo campaigns with their messages: current state (raw.klaviyo_campaigns, "
    "raw.klaviyo_campaign_messages, upserted) and the state per day (raw.klaviyo_campaign_snapshots).",
    **COMMON,
)
def klaviyo_campaigns(
    context: dg.AssetExecutionContext, klaviyo: KlaviyoResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, days, warehouse, klaviyo = ingest_scope(context, warehouse, klaviyo, "klaviyo")
    tz = brand.tz
    campaigns, messages = [], []
    with ingest_errors("klaviyo.campaigns", context.run.run_id, warehouse.url()), klaviyo.client() as client:
        for channel in ("email", "sms"):
            for raw, raw_messages in streams.campaigns(client, channel):
                c = parse(Resource, raw, "campaign")
                msgs = [parse(Resource, m, "campaign-message") for m in raw_messages]
                campaigns.append((c, channel, raw, raw_messages))
                for m, raw_m in zip(msgs, raw_messages, strict=True):
                    d = m.attributes.get("definition") or {}
                    sends = m.attributes.get("send_times") or []
                    messages.append(
                        (
                            m.id,
                            c.id,
                            d.get("channel"),
                            d.get("label"),
                            (d.get("content") or {}).get("subject"),
                            _ts(sends[0]["datetime"]) if sends else None,
                            json.dumps(raw_m),
                            context.run.run_id,
                        )
                    )
        stats = client.stats
    current = [
        (
            c.id,
            c.attributes.get("name") or "",
            c.attributes.get("status") or "",
            bool(c.attributes.get("archived")),
            channel,
            _ts(c.attributes.get("send_time")),
            _ts(c.attributes.get("created_at")),
            _ts(c.attributes.get("updated_at")),
            [m["id"] for m in raw_messages],
            json.dumps(raw),
            context.run.run_id,
        )
        for c, channel, raw, raw_messages in campaigns
    ]
    snapshots = []
    for day in days:
        end = day_bounds(day, tz)[1]
        for c, _, raw, raw_messages in campaigns:
            created = _ts(c.attributes.get("created_at"))
            if created and created < end:
                snapshots.append(
                    (
                        day,
                        c.id,
                        c.attributes.get("name") or "",
                        c.attributes.get("status") or "",
                        _ts(c.attributes.get("send_time")),
                        _ts(c.attributes.get("updated_at")),
                        json.dumps({**raw, "messages": raw_messages}),
                        context.run.run_id,
                    )
                )
    with warehouse.transaction() as conn:
        upsert_rows(
            conn,
            "raw.klaviyo_campaigns",
            (
                "campaign_id",
                "name",
                "status",
                "archived",
                "channel",
                "send_time",
                "created_at",
                "updated_at",
                "message_ids",
                "payload",
                "_run_id",
            ),
            current,
            key=("campaign_id",),
        )
        upsert_rows(
            conn,
            "raw.klaviyo_campaign_messages",
            ("message_id", "campaign_id", "channel", "label", "subject", "send_time", "payload", "_run_id"),
            messages,
            key=("message_id",),
        )
        delete_partitions(conn, "raw.klaviyo_campaign_snapshots", days)
        copy_rows(
            conn,
            "raw.klaviyo_campaign_snapshots",
            (
                "partition_date",
                "campaign_id",
                "name",
                "status",
                "send_time",
                "updated_at",
                "payload",
                "_run_id",
            ),
            snapshots,
        )
    return dg.MaterializeResult(
        metadata=ingest_metadata(
            stats, rows=len(current), messages=len(messages), snapshot_rows=len(snapshots)
        )
    )


@dg.asset(
    description="Klaviyo flows with their actions and messages: current state (raw.klaviyo_flows, "
    "raw.klaviyo_flow_actions, raw.klaviyo_flow_messages) and the state per day (raw.klaviyo_flow_snapshots).",
    **COMMON,
)
def klaviyo_flows(
    context: dg.AssetExecutionContext, klaviyo: KlaviyoResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, days, warehouse, klaviyo = ingest_scope(context, warehouse, klaviyo, "klaviyo")
    tz = brand.tz
    flows, actions, messages = [], [], []
    with ingest_errors("klaviyo.flows", context.run.run_id, warehouse.url()), klaviyo.client() as client:
        for raw, raw_actions in streams.flows(client):
            f = parse(Resource, raw, "flow")
            flows.append((f, raw, raw_actions))
            for raw_a, raw_messages in raw_actions:
                a = parse(Resource, raw_a, "flow-action")
                actions.append(
                    (
                        a.id,
                        f.id,
                        a.attributes.get("action_type"),
                        a.attributes.get("status"),
                        json.dumps(raw_a),
                        context.run.run_id,
                    )
                )
                for raw_m in raw_messages:
                    m = parse(Resource, raw_m, "flow-message")
                    messages.append(
                        (
                            m.id,
                            a.id,
                            f.id,
                            m.attributes.get("name"),
                            m.attributes.get("channel"),
                            json.dumps(raw_m),
                            context.run.run_id,
                        )
                    )
        stats = client.stats
    current = [
        (
            f.id,
            f.attributes.get("name"),
            f.attributes.get("status"),
            f.attributes.get("archived"),
            f.attributes.get("trigger_type"),
            _ts(f.attributes.get("created")),
            _ts(f.attributes.get("updated")),
            json.dumps(raw),
            context.run.run_id,
        )
        for f, raw, _ in flows
    ]
    snapshots = []
    for day in days:
        end = day_bounds(day, tz)[1]
        for f, raw, raw_actions in flows:
            created = _ts(f.attributes.get("created"))
            if created is None or created < end:
                nested = [{**a, "messages": ms} for a, ms in raw_actions]
                snapshots.append(
                    (
                        day,
                        f.id,
                        f.attributes.get("name"),
                        f.attributes.get("status"),
                        json.dumps({**raw, "actions": nested}),
                        context.run.run_id,
                    )
                )
    with warehouse.transaction() as conn:
        upsert_rows(
            conn,
            "raw.klaviyo_flows",
            (
                "flow_id",
                "name",
                "status",
                "archived",
                "trigger_type",
                "created_at",
                "updated_at",
                "payload",
                "_run_id",
            ),
            current,
            key=("flow_id",),
        )
        upsert_rows(
            conn,
            "raw.klaviyo_flow_actions",
            ("action_id", "flow_id", "action_type", "status", "payload", "_run_id"),
            actions,
            key=("action_id",),
        )
        upsert_rows(
            conn,
            "raw.klaviyo_flow_messages",
            ("message_id", "action_id", "flow_id", "name", "channel", "payload", "_run_id"),
            messages,
            key=("message_id",),
        )
        delete_partitions(conn, "raw.klaviyo_flow_snapshots", days)
        copy_rows(
            conn,
            "raw.klaviyo_flow_snapshots",
            ("partition_date", "flow_id", "name", "status", "payload", "_run_id"),
            snapshots,
        )
    return dg.MaterializeResult(
        metadata=ingest_metadata(
            stats,
            rows=len(current),
            actions=len(actions),
            messages=len(messages),
            snapshot_rows=len(snapshots),
        )
    )


@dg.asset(
    description="Klaviyo lists and segments (raw.klaviyo_lists, raw.klaviyo_segments) and their profile "
    "counts (raw.klaviyo_group_counts). Counts are what Klaviyo reports now, so they are recorded only on "
    "a run's latest day when that day is yesterday or today; older days keep what was recorded on them.",
    **COMMON,
)
def klaviyo_lists_segments(
    context: dg.AssetExecutionContext, klaviyo: KlaviyoResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, days, warehouse, klaviyo = ingest_scope(context, warehouse, klaviyo, "klaviyo")
    tz = brand.tz
    latest = max(days)
    with_counts = (clock.today(tz) - latest).days <= 1  # counting costs a 1/s, 15/m call per group

    def read(kind: str) -> tuple[list, CallStats]:
        with klaviyo.client() as client:
            items = [(parse(Resource, raw, kind), raw) for raw in streams.groups(client, kind, with_counts)]
            return items, client.stats

    with ingest_errors("klaviyo.lists_segments", context.run.run_id, warehouse.url()):
        # Lists and segments are two endpoints with a quota each (counts: 1/s each): read both at
        # once, a client each, instead of waiting out one quota after the other.
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = dict(zip(("list", "segment"), pool.map(read, ("list", "segment")), strict=True))
    found = {kind: items for kind, (items, _) in results.items()}
    parts = [s for _, s in results.values()]
    stats = CallStats(
        calls=sum(s.calls for s in parts),
        retries=sum(s.retries for s in parts),
        bytes=sum(s.bytes for s in parts),
        pages=sum(s.pages for s in parts),
        started=min(s.started for s in parts),
    )

    def rows(kind: str, third: str) -> list[tuple]:
        """Id, name, the kind's own flag (a list's opt-in process, a segment's is_active), times, payload."""
        return [
            (
                g.id,
                g.attributes.get("name"),
                g.attributes.get(third),
                _ts(g.attributes.get("created")),
                _ts(g.attributes.get("updated")),
                json.dumps(raw),
                context.run.run_id,
            )
            for g, raw in found[kind]
        ]

    lists, segments = rows("list", "opt_in_process"), rows("segment", "is_active")
    counts = (
        [
            (
                latest,
                kind,
                g.id,
                g.attributes.get("name"),
                g.attributes.get("profile_count"),
                context.run.run_id,
            )
            for kind, items in found.items()
            for g, _ in items
        ]
        if with_counts
        else []
    )
    with warehouse.transaction() as conn:
        upsert_rows(
            conn,
            "raw.klaviyo_lists",
            ("list_id", "name", "opt_in_process", "created_at", "updated_at", "payload", "_run_id"),
            lists,
            key=("list_id",),
        )
        upsert_rows(
            conn,
            "raw.klaviyo_segments",
            ("segment_id", "name", "is_active", "created_at", "updated_at", "payload", "_run_id"),
            segments,
            key=("segment_id",),
        )
        if with_counts:
            delete_partitions(conn, "raw.klaviyo_group_counts", [latest])
            copy_rows(
                conn,
                "raw.klaviyo_group_counts",
                ("partition_date", "kind", "group_id", "name", "profile_count", "_run_id"),
                counts,
            )
    return dg.MaterializeResult(
        metadata=ingest_metadata(
            stats,
            rows=len(lists) + len(segments),
            lists=len(lists),
            segments=len(segments),
            counts=len(counts),
        )
    )
