"""The daily ingest beyond one machine: each step a Celery task (dagster-celery), run by workers.

``daily_ingest_celery`` selects the same assets as ``daily_ingest`` (one job per set of brands, as it). Its executor reads the broker
and the result backend from ``CELERY_BROKER_URL`` and ``CELERY_BACKEND_URL`` when a run starts, so
the URLs (they may hold passwords) never enter the run config the UI shows and stores.
``marketing-pipeline celery-worker`` runs a worker on the same code and the same variables.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

import dagster as dg
from dagster_celery import celery_executor

from marketing_pipeline.ingest import ingest_jobs

BROKER_VAR = "CELERY_BROKER_URL"
BACKEND_VAR = "CELERY_BACKEND_URL"
DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"  # RabbitMQ on this machine
DEFAULT_BACKEND_URL = "redis://127.0.0.1:6379/0"
DEFAULT_QUEUE = "dagster"  # dagster-celery's default queue


@dg.configured(
    celery_executor,
    config_schema={
        "queue": dg.Field(str, default_value=DEFAULT_QUEUE, description="Celery queue for the steps")
    },
)
def celery_ingest_executor(config: dict) -> dict:
    # References, not values: Dagster reads the variables when the run starts, and however a run is
    # launched (launchpad, schedule, backfill, CLI without config) only the queue name is stored with it.
    return {
        "broker": {"env": BROKER_VAR},
        "backend": {"env": BACKEND_VAR},
        "config_source": {"task_default_queue": config["queue"]},
    }


def celery_ingest_jobs(assets: list[dg.AssetsDefinition]) -> list[dg.UnresolvedAssetJobDefinition]:
    """``daily_ingest_celery`` (and, as for ``daily_ingest``, one job per other set of brands)."""
    return ingest_jobs(
        "daily_ingest_celery",
        assets,
        executor_def=celery_ingest_executor,
        description="The daily ingest with every step a Celery task: for workers on other machines.",
    )


def apply_env_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """Loopback RabbitMQ and Redis unless the variables are set (called at start-up, not import)."""
    environ = os.environ if environ is None else environ
    environ.setdefault(BROKER_VAR, DEFAULT_BROKER_URL)
    environ.setdefault(BACKEND_VAR, DEFAULT_BACKEND_URL)


def run_worker(queue: str, concurrency: int | None, name: str | None, loglevel: str) -> None:
    """Serve dagster-celery's step task from ``queue`` until stopped (SIGTERM: finish, then exit)."""
    # The same app and task as `dagster-celery worker start`, without writing the broker URL to a
    # config file in DAGSTER_HOME as that command does.
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    executor = CeleryExecutor.for_cli(broker=os.environ[BROKER_VAR], backend=os.environ[BACKEND_VAR])
    app = make_app(executor.app_args())
    create_task(app)
    argv = ["worker", f"--loglevel={loglevel}", "-Q", queue, "--prefetch-multiplier=1"]
    argv += ["-n", name or f"marketing-pipeline-{os.getpid()}@%h"]  # unique per process on a host
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    app.worker_main(argv)
