"""The ``customerio`` subcommand: App API actions a data engineer reaches for, printed as JSON."""

from __future__ import annotations

import argparse
import json
import sys


def app_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    b = sub.add_parser(
        "broadcast", help="trigger an API-triggered broadcast (its own audience, or --email/--id)"
    )
    b.add_argument("broadcast_id", type=int)
    b.add_argument("--email", action="append", default=[], help="a recipient email (repeatable)")
    b.add_argument("--id", action="append", default=[], dest="ids", help="a recipient id (repeatable)")
    b.add_argument("--data", default="", help="JSON object for the broadcast's liquid data")
    push = sub.add_parser("push", help="send a transactional push message to a person")
    push.add_argument("message_id", help="transactional message id or trigger name")
    push.add_argument("person", help="the person's id or email")
    push.add_argument("--data", default="", help="JSON object of message data")
    find = sub.add_parser("find", help="people with this email")
    find.add_argument("email")
    search = sub.add_parser("search", help="people whose attribute equals a value (field=value), all pages")
    search.add_argument("condition", help="field=value, or field (the attribute exists)")
    attrs = sub.add_parser("attributes", help="a person's attributes")
    activities = sub.add_parser("activities", help="a person's recent activities")
    for q in (attrs, activities):
        q.add_argument("customer_id")
        q.add_argument("--id-type", default="id", choices=["id", "email", "cio_id"])
    activities.add_argument("--type", default=None, help="only this activity type, e.g. sent_email")
    activities.add_argument("--limit", type=int, default=50)


def _data(raw: str) -> dict | None:
    if not raw:
        return None
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise SystemExit("--data must be a JSON object")
    return value


def run(args: argparse.Namespace, client) -> object:
    if args.action == "broadcast":
        trigger = client.trigger_broadcast(
            args.broadcast_id, emails=args.email, ids=args.ids, data=_data(args.data)
        )
        return {"trigger_id": trigger}
    if args.action == "push":
        message_id = int(args.message_id) if args.message_id.isdigit() else args.message_id
        return client.send_push(message_id, args.person, _data(args.data))
    if args.action == "find":
        return client.customers_by_email(args.email)
    if args.action == "search":
        field, eq, value = args.condition.partition("=")
        condition = (
            {"field": field, "operator": "eq", "value": value}
            if eq
            else {"field": field, "operator": "exists"}
        )
        return [p for page in client.search_customers({"and": [{"attribute": condition}]}) for p in page]
    if args.action == "attributes":
        return client.customer_attributes(args.customer_id, args.id_type)
    pages = client.customer_activities(args.customer_id, args.id_type, args.type, limit=args.limit)
    return next(iter(pages), [])


def app(args: argparse.Namespace) -> int:
    from marketing_pipeline.sources.customerio.resource import VENDOR, CustomerIoResource

    with CustomerIoResource(**VENDOR.values()).app_client() as client:
        json.dump(run(args, client), sys.stdout, indent=2, default=str)
    print()
    return 0
