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
    from marketing_pipeline.settings import brands as brand_settings
    from marketing_pipeline.warehouse import database_url, migrate
    from marketing_pipeline.warehouse.engine import ensure_database

    for brand in brand_settings.load():  # each brand's warehouse (created beside the default one if needed)
        url = database_url(brand=brand)
        if not brand.is_default:
            ensure_database(url, database_url())
        applied = migrate(url)
        print(
            f"{brand.id}: applied {len(applied)} migration(s){': ' + ', '.join(applied) if applied else ''}"
        )
    return 0


def _sandbox_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=SANDBOX_PORT)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--seed", type=int, default=None, help="one brand with this seed instead of the three")
    p.add_argument("--scale", type=float, default=None, help="one brand of this size instead of the three")
    p.add_argument("--faults", default=None, help="e.g. 'tiktok-shop:429=0.2,drop=0.05;*:latency=0.1'")


@command("sandbox", "serve every vendor emulator on one port", _sandbox_args)
def _sandbox(args: argparse.Namespace) -> int:
    import uvicorn

    from marketing_pipeline.sandbox import brands as sandbox_brands
    from marketing_pipeline.sandbox.app import build

    url = f"http://{args.host}:{args.port}"
    if args.seed is not None or args.scale is not None:
        box = build(seed=7 if args.seed is None else args.seed, scale=args.scale or 1.0, faults=args.faults)
        print(f"sandbox for {box.world.brand} on {url}/ ({', '.join(box.emulators)})")
        uvicorn.run(box.app, host=args.host, port=args.port, log_level="warning")
        return 0
    served = sandbox_brands.build_all(faults=args.faults)
    brands = sandbox_brands.load()
    print(f"sandbox for {len(brands)} brands on {url}/ (brands file: {sandbox_brands.BRANDS_FILE}):")
    for b in brands:
        print(f"  {b.id:<10} {b.name:<16} {b.timezone:<18} {sandbox_brands.brand_url(b, url)}/")
    uvicorn.run(served["app"], host=args.host, port=args.port, log_level="warning")
    return 0


def _web_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    only = p.add_mutually_exclusive_group()
    only.add_argument(
        "--public-only", action="store_true", help="intake, webhooks and recovery links; no dashboard"
    )
    only.add_argument("--dashboard-only", action="store_true", help="the dashboard and its login only")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (each with its own connection pool; the sign-in limit is shared)",
    )


@command("web", "serve intake endpoints, recovery links and the dashboard", _web_args)
def _web(args: argparse.Namespace) -> int:
    import uvicorn

    from marketing_pipeline.warehouse import database_url, migrate
    from marketing_pipeline.web.app import create_app

    migrate(database_url())
    part = "public endpoints" if args.public_only else "dashboard" if args.dashboard_only else "web app"
    print(f"{part} on http://{args.host}:{args.port}/ ({args.workers} worker process(es))")
    if args.workers > 1:  # uvicorn starts each worker from an import string
        factory = (
            "public_app" if args.public_only else "dashboard_app" if args.dashboard_only else "create_app"
        )
        uvicorn.run(
            f"marketing_pipeline.web.app:{factory}",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
        )
        return 0
    app = create_app(public=not args.dashboard_only, dashboard=not args.public_only)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--days",
        type=int,
        default=None,
        help="days of order history to load (default about six months); other sources cover the last 14",
    )
    p.add_argument(
        "--port",
        type=int,
        default=SANDBOX_PORT,
        help="port for the demo's emulators (another free one is used when this one is taken)",
    )


@command("demo", "run the pipeline against the sandbox and print a summary", _demo_args)
def _demo(args: argparse.Namespace) -> int:
    from marketing_pipeline.sandbox.demo import run as demo

    return demo.run(days=args.days, port=args.port) if args.days else demo.run(port=args.port)


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
    if rt.sandbox:  # each sandbox store's discount codes, so cart recovery offers can be redeemed
        from marketing_pipeline.sandbox.discount_codes import seed_into

        for url in rt.brand_urls.values():
            seed_into(url)
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


@command("bench", "run the benchmarks in bench/ one after another and print a table of their ratios")
def _bench(args: argparse.Namespace) -> int:
    status, rows = 0, []
    for script in sorted((PROJECT_ROOT / "bench").glob("*.py")):
        if "__main__" not in script.read_text():  # helpers such as scratch.py are not benchmarks
            continue
        print(f"== {script.name}", flush=True)
        with subprocess.Popen(
            [sys.executable, str(script)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
        ) as proc:
            for line in proc.stdout:
                if line.startswith("@ratio\t"):  # bench/report.py
                    rows.append([script.stem, *line.rstrip("\n").split("\t")[1:]])
                else:
                    print(line, end="", flush=True)
        status |= proc.returncode
    header = ["bench", "measure", "project", "baseline (same run)", "ratio", "target"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return status


def _import_orders_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="CSV of website orders, one row per order line (layout in the README)")
    p.add_argument("--skip-bad", action="store_true", help="write the good orders and list the bad rows")
    p.add_argument("--brand", help="the brand whose orders these are (default: the default brand)")


@command(
    "import-orders",
    "import website order history from a CSV file (idempotent on order id)",
    _import_orders_args,
)
def _import_orders(args: argparse.Namespace) -> int:
    from marketing_pipeline.sources.website.cli import import_orders

    return import_orders(args.path, skip_bad=args.skip_bad, brand=args.brand)


def _import_codes_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="CSV with a 'code' column and an optional 'expires_at' (ISO date or time)")
    p.add_argument("--brand", help="the brand whose store the codes are for (default: the default brand)")


@command(
    "import-discount-codes",
    "add single-use discount codes from the store to the pool cart recovery offers take from",
    _import_codes_args,
)
def _import_codes(args: argparse.Namespace) -> int:
    from marketing_pipeline.cart_recovery.codes_cli import import_discount_codes

    return import_discount_codes(args.path, brand=args.brand)


def _export_mart_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="a table or view in the marts schema, e.g. channel_daily")
    p.add_argument("--start", help="first day, YYYY-MM-DD (inclusive)")
    p.add_argument("--end", help="last day, YYYY-MM-DD (inclusive)")
    p.add_argument("--out", help="CSV file to write (default: standard output)")


@command("export-mart", "export a mart as CSV for a date range", _export_mart_args)
def _export_mart(args: argparse.Namespace) -> int:
    from marketing_pipeline.marts.export import run

    return run(args.name, args.start, args.end, args.out)


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
