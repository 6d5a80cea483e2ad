"""The ``customerio-person`` and ``customerio-webhooks`` subcommands (registered in ``cli.py``)."""

from __future__ import annotations

import argparse
import os
from datetime import date, timedelta


def person_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["suppress", "unsuppress", "delete"])
    p.add_argument("identifier", help="the person's Customer.io id or email")
    p.add_argument(
        "--email", default=None, help="the address to record in ops.suppressions (default: the identifier)"
    )


def person(args: argparse.Namespace) -> int:
    from marketing_pipeline.activation.customerio.people import person_action
    from marketing_pipeline.sources.customerio.resource import CustomerIoResource
    from marketing_pipeline.warehouse import connect, database_url, migrate

    env = os.environ
    resource = CustomerIoResource(
        region=env.get("CUSTOMERIO_REGION") or "us",
        app_base_url=env.get("CUSTOMERIO_APP_BASE_URL", ""),
        track_base_url=env.get("CUSTOMERIO_TRACK_BASE_URL", ""),
        site_id=env.get("CUSTOMERIO_SITE_ID", ""),
        track_api_key=env.get("CUSTOMERIO_TRACK_API_KEY", ""),
    )
    migrate(database_url())
    with resource.track_client() as client, connect(autocommit=True) as conn:
        person_action(conn, client, args.action, args.identifier, args.email)
    print(f"customerio: {args.action} done (recorded in ops.sync_history)")
    return 0


def webhooks_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default="http://127.0.0.1:8000/webhooks/customerio")
    p.add_argument("--days-ago", type=int, default=1, help="which sandbox day's deliveries to report")
    p.add_argument("--limit", type=int, default=50, help="deliveries to report (each gives several events)")
    p.add_argument("--seed", type=int, default=7)


def webhooks(args: argparse.Namespace) -> int:
    from collections import Counter

    from marketing_pipeline.sandbox.world import World
    from marketing_pipeline.sources.customerio.resource import ENV
    from marketing_pipeline.sources.customerio.webhook_sender import reporting_events, send_events

    key = os.environ.get("CUSTOMERIO_WEBHOOK_SIGNING_KEY") or ENV.keys["CUSTOMERIO_WEBHOOK_SIGNING_KEY"]
    day = date.today() - timedelta(days=args.days_ago)
    statuses = send_events(args.url, reporting_events(World(seed=args.seed), day, limit=args.limit), key)
    print(f"posted {len(statuses)} signed reporting events for {day}: {dict(Counter(statuses))}")
    return 0 if all(s == 200 for s in statuses) else 1
