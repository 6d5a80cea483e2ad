"""``marketing-pipeline``: demo | ui | sandbox | web | migrate | bench | celery-worker (and more)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable

from marketing_pipeline import settings
from marketing_pipeline.settings import PROJECT_ROOT

SANDBOX_PORT = 8765  # the sandbox's default port (also in sandbox.credentials)

COMMANDS: dict[
    str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
] = {}


def command(name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    def register(fn: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = (help_text, configure, fn)
        return fn

    return register


@command("migrate", "apply pending SQL migrations to the warehouse")
def _migrate(args: argparse.Namespace) -> int:
    from marketing_pipeline.warehouse import database_url, migrate

    applied = migrate(database_url())
    print(f"applied {len(applied)} migration(s){': ' + ', '.join(applied) if applied else ''}")
    return 0


def _sandbox_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=SANDBOX_PORT)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--faults", default=None, help="e.g. 'tiktok-shop:429=0.2,drop=0.05;*:latency=0.1'")


@command("sandbox", "serve every vendor emulator on one port", _sandbox_args)
def _sandbox(args: argparse.Namespace) -> int:
    import uvicorn

    from marketing_pipeline.sandbox.app import build

    box = build(seed=args.seed, scale=args.scale, faults=args.faults)
    print(f"sandbox for {box.world.brand} on http://{args.host}:{args.port}/ ({', '.join(box.emulators)})")
    uvicorn.run(box.app, host=args.host, port=args.port, log_level="warning")
    return 0


def _web_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")


@command("web", "serve intake endpoints, recovery links and the dashboard", _web_args)
def _web(args: argparse.Namespace) -> int:
    import uvicorn

    from marketing_pipeline.warehouse import database_url, migrate
    from marketing_pipeline.web.app import create_app

    migrate(database_url())
    print(f"web app on http://{args.host}:{args.port}/")
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")
    return 0


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=int, default=14, help="how many recent daily partitions to materialize")


@command("demo", "run the pipeline against the sandbox and print a summary", _demo_args)
def _demo(args: argparse.Namespace) -> int:
    from marketing_pipeline.sandbox.demo import run as demo

    return demo.run(days=args.days)


def _sandbox_switch(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sandbox",
        action="store_true",
        help="generated data: serve every vendor from the built-in sandbox (same as MARKETING_SANDBOX=1)",
    )


def _start(args: argparse.Namespace):
    """The warehouse and instance, after the sandbox when sandbox mode is asked for."""
    from marketing_pipeline import runtime

    if getattr(args, "sandbox", False):
        os.environ["MARKETING_SANDBOX"] = "1"
    if settings.load().sandbox:
        from marketing_pipeline.sandbox import launch

        url = launch.start()
        print(f"sandbox mode: every vendor is served by the emulators on {url}")
    rt = runtime.start()
    for vendor, missing in rt.unconfigured.items():
        print(f"{vendor}: not configured (set {', '.join(missing)}); its assets fail until it is")
    return rt


def _ui_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=3000)
    _sandbox_switch(p)


@command("ui", "start the Dagster UI and daemon on the warehouse (--sandbox: on generated data)", _ui_args)
def _ui(args: argparse.Namespace) -> int:
    import dagster as dg

    from marketing_pipeline.pools import apply_pool_limits

    _start(args)
    with dg.DagsterInstance.get() as instance:
        apply_pool_limits(instance)
    cmd = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-w",
        str(PROJECT_ROOT / "workspace.yaml"),
        "-p",
        str(args.port),
    ]
    try:
        return subprocess.call(cmd, cwd=PROJECT_ROOT, env=os.environ.copy())
    except KeyboardInterrupt:
        return 0


def _celery_worker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--queue", default="dagster", help="queue to serve: the job's `queue` run config")
    p.add_argument("--concurrency", type=int, default=None, help="steps at once (default: one per CPU)")
    p.add_argument(
        "--name", default=None, help="worker node name, e.g. ingest-1@%%h (default: unique per process)"
    )
    p.add_argument("--loglevel", default="INFO")
    _sandbox_switch(p)


@command(
    "celery-worker",
    "run a Celery worker for daily_ingest_celery's steps (CELERY_BROKER_URL, CELERY_BACKEND_URL)",
    _celery_worker_args,
)
def _celery_worker(args: argparse.Namespace) -> int:
    from marketing_pipeline import celery_jobs

    _start(args)  # the same warehouse, vendor variables and instance storage as `ui`
    celery_jobs.run_worker(args.queue, args.concurrency, args.name, args.loglevel)
    return 0


@command("bench", "run the benchmarks in bench/ and print their ratios")
def _bench(args: argparse.Namespace) -> int:
    status = 0
    for script in sorted((PROJECT_ROOT / "bench").glob("*.py")):
        if "__main__" not in script.read_text():  # helpers such as scratch.py are not benchmarks
            continue
        print(f"== {script.name}")
        status |= subprocess.call([sys.executable, str(script)], cwd=PROJECT_ROOT)
    return status


def _import_orders_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="CSV of website orders, one row per order line (layout in the README)")
    p.add_argument("--skip-bad", action="store_true", help="write the good orders and list the bad rows")


@command(
    "import-orders",
    "import website order history from a CSV file (idempotent on order id)",
    _import_orders_args,
)
def _import_orders(args: argparse.Namespace) -> int:
    from marketing_pipeline.sources.website.cli import import_orders

    return import_orders(args.path, skip_bad=args.skip_bad)


def _customerio_person_args(p: argparse.ArgumentParser) -> None:
    from marketing_pipeline.activation.customerio.commands import person_args

    person_args(p)


@command(
    "customerio-person",
    "suppress, unsuppress or delete (GDPR) one person in Customer.io",
    _customerio_person_args,
)
def _customerio_person(args: argparse.Namespace) -> int:
    from marketing_pipeline.activation.customerio.commands import person

    return person(args)


def _customerio_app_args(p: argparse.ArgumentParser) -> None:
    from marketing_pipeline.sources.customerio.commands import app_args

    app_args(p)


@command(
    "customerio",
    "Customer.io App API: trigger a broadcast, send a push, find/search people, attributes, activities",
    _customerio_app_args,
)
def _customerio_app(args: argparse.Namespace) -> int:
    from marketing_pipeline.sources.customerio.commands import app

    return app(args)


def _customerio_webhooks_args(p: argparse.ArgumentParser) -> None:
    from marketing_pipeline.sandbox.customerio.commands import webhooks_args

    webhooks_args(p)


@command(
    "customerio-webhooks",
    "post signed Customer.io reporting events from the sandbox to a URL",
    _customerio_webhooks_args,
)
def _customerio_webhooks(args: argparse.Namespace) -> int:
    from marketing_pipeline.sandbox.customerio.commands import webhooks

    return webhooks(args)


def _exit_on_sigterm(signum, frame) -> None:
    # SystemExit runs atexit handlers: the embedded PostgreSQL is stopped cleanly.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # The policies used here are settled choices; Dagster's beta notice for them is noise in the demo.
    warnings.filterwarnings("ignore", message=r".* is currently in beta")
    # The embedded server's libraries look for a per-user runtime directory a container rarely has.
    warnings.filterwarnings("ignore", message=r"XDG_RUNTIME_DIR is not set")
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING"), format="%(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(prog="marketing-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    return COMMANDS[args.command][2](args) or 0


if __name__ == "__main__":
    sys.exit(main())
