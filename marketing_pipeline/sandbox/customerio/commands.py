"""The ``customerio-webhooks`` subcommand: signed reporting events from the sandbox, posted to a URL."""

from __future__ import annotations

import argparse
import os
from collections import Counter
from datetime import date, timedelta

from marketing_pipeline.sandbox import credentials
from marketing_pipeline.sandbox.customerio.webhook_sender import reporting_events, send_events
from marketing_pipeline.sandbox.world import World


def webhooks_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default="http://127.0.0.1:8000/webhooks/customerio")
    p.add_argument("--days-ago", type=int, default=1, help="which sandbox day's deliveries to report")
    p.add_argument("--limit", type=int, default=50, help="deliveries to report (each gives several events)")
    p.add_argument("--seed", type=int, default=7)


def webhooks(args: argparse.Namespace) -> int:
    key = os.environ.get("CUSTOMERIO_WEBHOOK_SIGNING_KEY") or credentials.CUSTOMERIO_WEBHOOK_SIGNING_KEY
    day = date.today() - timedelta(days=args.days_ago)
    statuses = send_events(args.url, reporting_events(World(seed=args.seed), day, limit=args.limit), key)
    print(f"posted {len(statuses)} signed reporting events for {day}: {dict(Counter(statuses))}")
    return 0 if all(s == 200 for s in statuses) else 1
