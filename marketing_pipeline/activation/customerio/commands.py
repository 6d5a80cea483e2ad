"""The ``customerio-person`` subcommand (registered in ``cli.py``)."""

from __future__ import annotations

import argparse


def person_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["suppress", "unsuppress", "delete"])
    p.add_argument("identifier", help="the person's Customer.io id or email")
    p.add_argument(
        "--email", default=None, help="the address to record in ops.suppressions (default: the identifier)"
    )


def person(args: argparse.Namespace) -> int:
    from marketing_pipeline.activation.customerio.people import person_action
    from marketing_pipeline.sources.customerio.resource import VENDOR, CustomerIoResource
    from marketing_pipeline.warehouse import connect, database_url, migrate

    resource = CustomerIoResource(**VENDOR.values())
    migrate(database_url())
    with resource.track_client() as client, connect(autocommit=True) as conn:
        person_action(conn, client, args.action, args.identifier, args.email)
    print(f"customerio: {args.action} done (recorded in ops.sync_history)")
    return 0
