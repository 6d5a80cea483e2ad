"""A recovery run killed with SIGKILL gives its ``sendgrid_api`` pool slot back.

The run executes in a ``dagster job execute`` subprocess against the project's dagster.yaml
(PostgreSQL storage, pools), stuck in a mail send to a server that never answers; it is killed
once it holds the slot. The default launcher cannot see the dead process: the run stays STARTED
until its ``dagster/max_runtime_seconds`` passes (2 s here instead of 300), then the daemon's run
monitoring fails it and frees its slots (``free_slots_after_run_end_seconds``, 1 s here instead
of 60; poll interval 1 s instead of 30).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml

from marketing_pipeline_tests.cart_support import identified_cart
from marketing_pipeline_tests.conftest import _with_db, dagster_postgres_url

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture
def dagster_home(tmp_path, pg_server_url, monkeypatch):
    name = f"mp_dg_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    config["run_monitoring"] |= {"poll_interval_seconds": 1, "free_slots_after_run_end_seconds": 1}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    url = dagster_postgres_url(_with_db(pg_server_url, name))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", url)
    yield home
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_recovery_run_killed_with_sigkill_gives_its_pool_slot_back(
    dagster_home, warehouse_url, conn, tmp_path
):
    cart = f"c-kill-{uuid.uuid4().hex[:6]}"
    identified_cart(warehouse_url, cart, f"{cart}@example.com")
    silent = socket.socket()  # accepts connections (kernel backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SENDGRID_BASE_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
        "SENDGRID_API_KEY": "SG.test",
        "SENDGRID_FROM_EMAIL": "hello@lumenleaf.example",
        "BRAND_NAME": "Lumen & Leaf",
        "BRAND_ADDRESS": "500 Market Street, San Francisco",
        "STORE_URL": "https://shop.lumenleaf.example",
    }
    run_config = tmp_path / "run.yaml"
    run_config.write_text(
        yaml.safe_dump(
            {
                "ops": {
                    "send_recovery_step": {
                        "config": {"cart_id": cart, "step": 1, "as_of": "2026-03-02T15:45:00+00:00"}
                    }
                }
            }
        )
    )
    bin_dir = Path(sys.executable).parent
    run = subprocess.Popen(
        [
            str(bin_dir / "dagster"),
            "job",
            "execute",
            "-m",
            "marketing_pipeline.definitions",
            "-j",
            "cart_recovery_job",
            "-c",
            str(run_config),
            "--tags",
            json.dumps({"dagster/max_runtime_seconds": "2"}),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "run.log").open("w"),
    )
    daemon = None
    try:
        with dg.DagsterInstance.get() as instance:

            def held():
                info = instance.event_log_storage.get_concurrency_info("sendgrid_api")
                return (
                    info.claimed_slots
                    and conn.execute(
                        "SELECT status FROM ops.recovery_outbox WHERE cart_id = %s", (cart,)
                    ).fetchone()
                    == ("claimed",)
                    and info.claimed_slots[0].run_id
                )

            try:
                run_id = _wait(held, 120, "the run to claim the slot and the step")
            except AssertionError:
                raise AssertionError((tmp_path / "run.log").read_text()[-3000:]) from None
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=10)
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED  # nobody noticed
            daemon = subprocess.Popen(
                [str(bin_dir / "dagster-daemon"), "run", "-m", "marketing_pipeline.definitions"],
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

            def freed():
                status = instance.get_run_by_id(run_id).status
                slots = instance.event_log_storage.get_concurrency_info("sendgrid_api").claimed_slots
                return status == dg.DagsterRunStatus.FAILURE and not slots

            _wait(freed, 150, "run monitoring to fail the dead run and free its slot")
            messages = [e.message or "" for e in instance.all_logs(run_id)]
            assert any("maximum runtime" in m for m in messages), messages[-5:]
            # the step it held stays claimed: it may have been sent, so it is never sent again
            assert conn.execute(
                "SELECT status FROM ops.recovery_outbox WHERE cart_id = %s", (cart,)
            ).fetchone() == ("claimed",)
    finally:
        for proc in (run, daemon):
            if proc and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        silent.close()
