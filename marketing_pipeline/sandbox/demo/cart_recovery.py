"""Demo step: the sandbox brand's carts flow through the intake over HTTP while a simulated
clock advances; at each tick the sensor runs and the recovery runs it requests execute through
Dagster. Then the SendGrid suppressions and the reporting mart are materialized.

The sender is ``CART_RECOVERY_SENDER`` (``CART_RECOVERY_SENDER=customerio make demo``): SendGrid,
Customer.io transactional messages, or ``platform_flow``, where nothing is sent here and the
Customer.io workspace's own abandoned-cart campaign sends on the forwarded events; its deliveries
are then ingested and the report reads them."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

import dagster as dg
import httpx

from marketing_pipeline.activation.shopper_events.assets import shopper_event_forwarding
from marketing_pipeline.cart_recovery import links, runner
from marketing_pipeline.cart_recovery.reporting import cart_recovery_daily
from marketing_pipeline.marts import figures
from marketing_pipeline.sandbox.cart_recovery.carts import carts_between
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.sources.customerio.assets import customerio_campaign_metrics, customerio_deliveries
from marketing_pipeline.sources.customerio.resource import from_env as customerio_from_env
from marketing_pipeline.sources.klaviyo.resource import from_env as klaviyo_from_env
from marketing_pipeline.sources.sendgrid.assets import sendgrid_suppressions
from marketing_pipeline.sources.sendgrid.resource import from_env as sendgrid_from_env
from marketing_pipeline.warehouse import WarehouseResource, connect
from marketing_pipeline.web.app import create_app
from marketing_pipeline.web.intake import write_key

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
ABANDON_DAYS = 1  # carts abandoned on this many days, followed through every step
TICK = timedelta(hours=1)
LINK = re.compile(r"/r/([A-Za-z0-9_-]{20,})")


def _post(http: httpx.Client, web: str, events: list[dict]) -> None:
    for i in range(0, len(events), 400):
        r = http.post(
            f"{web}/intake/cart-events",
            json=events[i : i + 400],
            headers={"Authorization": f"Bearer {write_key()}"},
            timeout=60,
        )
        r.raise_for_status()


def _recover_link(http: httpx.Client, sendgrid_url: str, cart_id: str, sent: set[str]) -> str | None:
    """The token of the last email this cart got (read back from the SendGrid or Customer.io emulator)."""
    if cart_id not in sent:
        return None
    if RecoveryPolicy.from_env().sender == "customerio":
        mails = http.get(f"{os.environ['CUSTOMERIO_APP_BASE_URL']}/_sandbox/transactional", timeout=30).json()
        url = next(
            (
                m["message_data"]["recover_url"]
                for m in reversed(mails)
                if m["message_data"]["cart_id"] == cart_id
            ),
            "",
        )
        found = LINK.search(url)
        return found.group(1) if found else None
    for m in reversed(http.get(f"{sendgrid_url}/_sandbox/messages", timeout=30).json()):
        if m["body"]["personalizations"][0]["custom_args"]["cart_id"] == cart_id:
            found = LINK.search(m["body"]["content"][0]["value"])
            return found.group(1) if found else None
    return None


def run(ctx) -> None:
    world = World(seed=7)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    first = (now - timedelta(days=ABANDON_DAYS + 2)).date()
    carts = carts_between(world, first, first + timedelta(days=ABANDON_DAYS - 1))
    events = sorted((e for c in carts for e in c.events), key=lambda e: e["occurred_at"])
    clicks = sorted((t, c.cart_id) for c in carts for t in c.click_at)
    sendgrid_url = os.environ["SENDGRID_BASE_URL"]
    resources = {"warehouse": WarehouseResource(), "sendgrid": sendgrid_from_env()}
    dg.materialize([sendgrid_suppressions], instance=ctx.instance, resources=resources, run_config=QUIET)
    clock = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    cursor, job, done, sent = None, runner.recovery_job(), [], set()
    # One client for the loop's calls: a new one per call loads the CA bundle again (~0.1 s each).
    with BackgroundServer(create_app()) as web, connect(autocommit=True) as conn, httpx.Client() as http:
        while clock <= now:
            due = [e for e in events if datetime.fromisoformat(e["occurred_at"]) <= clock]
            events = events[len(due) :]
            if due:
                _post(http, web.url, due)
            while clicks and clicks[0][0] <= clock:
                at, cart_id = clicks.pop(0)
                token = _recover_link(http, sendgrid_url, cart_id, sent)
                if token:
                    links.record_click(conn, token, at, "demo-shopper")
            cursor, runs = runner.advance(ctx.instance, clock, cursor, job)
            done += runs
            sent |= {r.cart_id for r in runs if r.status == "sent"}
            clock += TICK
        # The simulation stops here: close every sequence it left open, so a later `make ui`
        # (whose sensor runs on the real clock) never emails a demo cart.
        ctx.extra["cart_sequences_closed"] = conn.execute(
            "UPDATE ops.carts SET recovery_ended_at = %s, recovery_exit_reason = 'demo_ended' "
            "WHERE recovery_ended_at IS NULL AND converted_at IS NULL",
            (now,),
        ).rowcount
    ctx.extra["cart_recovery_runs"] = len(done)
    # The same carts' shopper events to Klaviyo and Customer.io; the second run finds nothing new.
    platforms = {**resources, "klaviyo": klaviyo_from_env(), "customerio": customerio_from_env()}
    for _ in range(2):
        dg.materialize(
            [shopper_event_forwarding],
            instance=ctx.instance,
            resources=platforms,
            run_config=QUIET,
            partition_key=brand_settings.load().default.id,
        )
    if RecoveryPolicy.from_env().sender == "platform_flow":  # the platform sent: read its deliveries
        days = [first + timedelta(days=n) for n in range((now.date() - first).days)]  # up to yesterday
        for asset, keys in ((customerio_campaign_metrics, days[:1]), (customerio_deliveries, days)):
            for day in keys:
                dg.materialize(
                    [asset],
                    partition_key=day.isoformat(),
                    instance=ctx.instance,
                    resources=platforms,
                    run_config=QUIET,
                )
    dg.materialize(  # the report's partition of the demo's one brand
        [cart_recovery_daily],
        partition_key=brand_settings.load().default.id,
        instance=ctx.instance,
        resources=resources,
        run_config=QUIET,
    )


def summary(conn, ctx) -> list[str]:
    sender = RecoveryPolicy.from_env().sender
    lines = [
        "",
        f"Cart recovery, sent by {sender} ({ctx.extra.get('cart_recovery_runs', 0)} recovery runs through Dagster):",
        f"  {'step':<10}{'sent':>6}{'skipped':>9}{'other':>7}",
    ]
    for step, sent, skipped, other in conn.execute(
        "SELECT step, count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'skipped'),"
        " count(*) FILTER (WHERE status NOT IN ('sent', 'skipped')) FROM ops.recovery_outbox GROUP BY 1 ORDER BY 1"
    ):
        lines.append(f"  {step:<10}{sent:>6}{skipped:>9}{other:>7}")
    reasons = conn.execute(
        "SELECT detail, count(*) FROM ops.recovery_outbox WHERE status = 'skipped' GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    if reasons:
        lines.append("  stopped by: " + ", ".join(f"{r} {n}" for r, n in reasons))
    lines.append(f"  {ctx.first} .. {ctx.last}, all channels (the dashboard's figures for this range):")
    lines.append(
        f"  {'step':>5}{'carts':>7}{'emails':>8}{'clicked':>9}{'recovered':>11}{'revenue':>11}{'rate':>8}"
    )
    for r in figures.cart_recovery(conn, ctx.days[0], ctx.days[-1]) or []:
        label = "all" if r["step"] == 0 else str(r["step"])
        lines.append(
            f"  {label:>5}{r['carts']:>7}{r['emails_sent']:>8}{r['clicked']:>9}{r['recovered']:>11}"
            f"{r['revenue']:>11,.2f}{(r['rate'] or 0):>8.1%}"
        )
    forwarded = conn.execute(
        "SELECT destination, count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'skipped'),"
        " count(*) FILTER (WHERE status NOT IN ('sent', 'skipped')) FROM ops.shopper_event_outbox GROUP BY 1 ORDER BY 1"
    ).fetchall()
    lines += ["  shopper events forwarded (two runs; each event once):"]
    lines += [f"    {d:<12}{s:>6} sent{k:>6} skipped (consent){o:>5} other" for d, s, k, o in forwarded]
    return lines
