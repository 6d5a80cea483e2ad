"""``daily_ingest_celery`` on loopback: RabbitMQ as broker, Redis as result backend, a real worker.

The test process launches the run (it orchestrates, as a run worker would); a
``marketing-pipeline celery-worker`` subprocess on a queue of its own executes the steps: it calls
the sandbox over HTTP and writes the warehouse. Both share a Dagster instance on PostgreSQL made
from the project's dagster.yaml. Skipped, saying why, when RabbitMQ or Redis is not listening.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.celery_jobs import BACKEND_VAR, BROKER_VAR
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.settings import PROJECT_ROOT
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline_tests.conftest import _with_db, dagster_postgres_url, recent_day

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
BACKEND = "redis://127.0.0.1:6379/0"
ASSETS = [dg.AssetKey("tiktok_shop_orders"), dg.AssetKey("tiktok_content_daily")]
RUN_TIMEOUT = 600  # seconds; a bound for a hung run, not a speed check (it normally takes under 10)


def daily_ingest_celery() -> dg.JobDefinition:
    """The job as the worker rebuilds it (``dg.reconstructable`` needs a module-level target)."""
    from marketing_pipeline.definitions import defs

    return defs.resolve_job_def("daily_ingest_celery")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def loopback_services() -> None:
    missing = [name for name, port in (("RabbitMQ", 5672), ("Redis", 6379)) if not _listening(port)]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not listening on 127.0.0.1 (needed for the Celery executor)")


@pytest.fixture
def dagster_home(tmp_path: Path, pg_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """DAGSTER_HOME with the project's dagster.yaml, its storage in a database of its own."""
    name = f"mp_dg_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", dagster_postgres_url(_with_db(pg_server_url, name)))
    yield home
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Worker:
    proc: subprocess.Popen
    queue: str
    log: Path


def _stop(proc: subprocess.Popen) -> None:
    """Warm shutdown of the worker's whole process group; SIGKILL when it does not end in time."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def _delete_queue(queue: str) -> None:
    """Celery declares a durable queue and exchange per queue name; leave the broker as we found it."""
    from kombu import Connection

    with Connection(BROKER, connect_timeout=5) as conn:
        conn.default_channel.queue_delete(queue)
        conn.default_channel.exchange_delete(queue)


@pytest.fixture
def celery_worker(
    loopback_services,
    dagster_home: Path,
    warehouse_url: str,
    sandbox,
    vendor_env_for,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Worker]:
    """A worker subprocess (own process group) serving a queue no other run or test uses."""
    vendor_env_for(sandbox[1])
    monkeypatch.setenv(BROKER_VAR, BROKER)
    monkeypatch.setenv(BACKEND_VAR, BACKEND)
    queue = f"mp-test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
        "MARKETING_STATE_DIR": str(tmp_path / "worker_state"),  # never the checkout's .marketing_pipeline
    }
    log = tmp_path / "worker.log"
    cmd = [sys.executable, "-m", "marketing_pipeline.cli", "celery-worker", "--queue", queue]
    cmd += ["--name", f"{queue}@%h", "--concurrency", "2"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 45
        while " ready." not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.2)
        yield Worker(proc, queue, log)
    finally:
        _stop(proc)
        _delete_queue(queue)


def _execute(instance: dg.DagsterInstance, run_config: dict, day: str) -> dg.JobExecutionResult:
    """execute_job in a thread, so a task nobody picks up fails the test instead of hanging it."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["result"] = dg.execute_job(
                dg.reconstructable(daily_ingest_celery),
                instance=instance,
                run_config=run_config,
                tags={"dagster/partition": str(brand_day_key(DEFAULT_ID, day))},
                asset_selection=ASSETS,
            )
        except BaseException as exc:  # re-raised below, in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(RUN_TIMEOUT)
    if "error" in outcome:
        raise outcome["error"]
    assert "result" in outcome, f"the run did not finish within {RUN_TIMEOUT} s"
    return outcome["result"]


def test_daily_ingest_steps_run_as_celery_tasks_in_the_worker(celery_worker: Worker, sandbox, conn):
    box, _ = sandbox
    day = recent_day(9)
    # Only the queue is run config; broker and backend come from the variables when the run starts.
    run_config = {"execution": {"config": {"queue": celery_worker.queue}}}

    with dg.DagsterInstance.get() as instance:
        result = _execute(instance, run_config, day.isoformat())
        assert result.success, celery_worker.log.read_text(errors="replace")[-4000:]
        starts = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_START)
        engine = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        stored = str(instance.get_run_by_id(result.run_id).run_config) + str(instance.all_logs(result.run_id))

    # Every step started in the worker's process group (its pool children), not in this process.
    pids = {r.step_key: r.dagster_event.pid for r in starts}
    # the assets' steps, and the freshness check that goes with tiktok_shop_orders
    assert sorted(k for k in pids if not k.startswith("freshness_check")) == [
        "tiktok_content_daily",
        "tiktok_shop_orders",
    ]
    for pid in pids.values():
        assert pid != os.getpid() and os.getpgid(pid) == celery_worker.proc.pid
    # dagster-celery's own record of the worker node that took each task.
    nodes = [
        r.dagster_event.engine_event_data.metadata["Celery worker"].value
        for r in engine
        if "in celery worker" in r.message
    ]
    assert nodes == [f"{celery_worker.queue}@{socket.gethostname()}"] * len(pids)
    # The URLs (they may hold passwords) are neither in the stored run config nor in its event log.
    assert BROKER not in stored and BACKEND not in stored
    assert BROKER not in celery_worker.log.read_text(errors="replace")  # Celery masks the password

    orders = conn.execute(
        "SELECT order_id, _run_id FROM raw.tiktok_shop_orders WHERE partition_date = %s ORDER BY 1", (day,)
    ).fetchall()
    expected = sorted(
        o.order_id for o in box.world.orders_between(*day_bounds(day)) if o.channel == "tiktok_shop"
    )
    assert [r[0] for r in orders] == expected and expected
    assert {r[1] for r in orders} == {result.run_id}
    videos = conn.execute(
        "SELECT count(*) FROM raw.tiktok_content_daily WHERE partition_date = %s AND _run_id = %s",
        (day, result.run_id),
    ).fetchone()[0]
    assert videos > 0
