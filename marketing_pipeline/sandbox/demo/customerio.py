"""Demo step: webhook events through the web app, the order-event sync through Dagster, and a summary.

The daily ingest (first demo step) already loaded deliveries and campaign metrics.
"""

from __future__ import annotations

import os

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.settings import brands as brand_settings


def run(ctx) -> None:
    from marketing_pipeline.definitions import defs
    from marketing_pipeline.sandbox.customerio.webhook_sender import reporting_events, send_events
    from marketing_pipeline.sandbox.world import World
    from marketing_pipeline.web.app import create_app

    key = os.environ.get("CUSTOMERIO_WEBHOOK_SIGNING_KEY")
    if key:  # the sandbox's reporting events, posted to our own webhook endpoint
        with BackgroundServer(create_app()) as web:
            ctx.extra["customerio_webhook_statuses"] = send_events(
                f"{web.url}/webhooks/customerio", reporting_events(World(seed=7), ctx.days[-1], limit=60), key
            )
    brand = brand_settings.load().default.id
    result = defs.resolve_job_def("customerio_order_events_job").execute_in_process(
        instance=ctx.instance,
        tags={
            "dagster/asset_partition_range_start": str(brand_day_key(brand, ctx.first)),
            "dagster/asset_partition_range_end": str(brand_day_key(brand, ctx.last)),
            "source": "demo",
        },
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        raise_on_error=False,
    )
    ctx.extra["customerio_sync_ok"] = result.success


def summary(conn, ctx) -> list[str]:
    lines = ["", "Customer.io:"]
    kinds = conn.execute(
        "SELECT kind, count(*) FROM raw.customerio_campaigns GROUP BY 1 ORDER BY 1"
    ).fetchall()
    lines.append("  catalog: " + (", ".join(f"{n} {k}s" for k, n in kinds) or "empty"))
    for kind, name, sent, opened, clicked in conn.execute(
        "SELECT m.kind, coalesce(c.name, m.object_id::text), sum(sent), sum(opened), sum(clicked)"
        " FROM raw.customerio_campaign_metrics m LEFT JOIN raw.customerio_campaigns c USING (kind, object_id)"
        " WHERE partition_date BETWEEN %s AND %s GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 6",
        (ctx.days[0], ctx.days[-1]),
    ):
        lines.append(
            f"  {kind:<11}{name[:34]:<36}sent {sent:>6,}  opened {opened:>6,}  clicked {clicked:>5,}"
        )
    states = conn.execute(
        "SELECT state, count(*) FROM raw.customerio_deliveries WHERE partition_date BETWEEN %s AND %s"
        " GROUP BY 1 ORDER BY 2 DESC",
        (ctx.days[0], ctx.days[-1]),
    ).fetchall()
    lines.append("  deliveries by state: " + ", ".join(f"{s} {n:,}" for s, n in states))
    events = conn.execute("SELECT count(*) FROM raw.customerio_webhook_events").fetchone()[0]
    statuses = ctx.extra.get("customerio_webhook_statuses", [])
    lines.append(
        f"  webhook events stored: {events:,} (posted {len(statuses)}, "
        f"{sum(s == 200 for s in statuses)} accepted)"
    )
    row = conn.execute(
        "SELECT status, sent, updated, skipped, failed FROM ops.sync_history WHERE destination = "
        "'customerio' AND sync = 'order_events' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row:
        lines.append(
            f"  order-event sync: {row[0]}, {row[1]:,} events sent, {row[2]:,} people identified, "
            f"{row[3]:,} skipped, {row[4]:,} failed"
        )
    suppressed = conn.execute("SELECT count(*) FROM ops.suppressions WHERE source = 'customerio'").fetchone()[
        0
    ]
    lines.append(f"  suppressions from Customer.io: {suppressed:,}")
    return lines
