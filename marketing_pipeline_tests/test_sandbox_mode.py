"""Generated data only when asked for: unconfigured vendors fail by name, schedules leave them out,
warehouses keep their mode, and the production definitions never load the sandbox."""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from marketing_pipeline import cli
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.sandbox import credentials
from marketing_pipeline.settings import PROJECT_ROOT
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.settings.vendors import VENDORS
from marketing_pipeline.warehouse import mode


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch):
    """No vendor variable and no sandbox switch, as on a brand's fresh deployment."""
    for vendor in VENDORS.values():
        for var in vendor.variables:
            monkeypatch.delenv(var, raising=False)
    for var in ("MARKETING_SANDBOX", "WEBSITE_WRITE_KEY", "CUSTOMERIO_WEBHOOK_SIGNING_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def fresh_definitions():
    """The definitions read the vendor variables when they are built, once per process: build them
    anew for this test's environment, and leave none built in it for the next test."""
    from marketing_pipeline import definitions

    def reset() -> None:
        for name in definitions.COMPONENTS:
            sys.modules.pop(name, None)
        definitions._build.cache_clear()

    reset()
    yield
    reset()


def _defs():
    from marketing_pipeline.definitions import load_defs

    return load_defs()


def test_production_definitions_load_without_any_sandbox_module():
    code = (
        "import sys\n"
        "from marketing_pipeline.definitions import load_defs\n"
        "defs = load_defs()\n"
        "assert defs.resolve_job_def('daily_ingest')\n"
        "print(sorted(m for m in sys.modules if m.startswith('marketing_pipeline.sandbox')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"  # installed beside this Python (dev extra)
    out = subprocess.run([str(lint)], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "0 broken" in out.stdout


def test_an_unconfigured_source_fails_at_once_naming_its_variables(bare_env, warehouse_url):
    from marketing_pipeline.sources.tiktok_shop.assets import tiktok_shop_orders

    defs = _defs()
    result = dg.materialize(
        [tiktok_shop_orders],
        partition_key=brand_day_key(DEFAULT_ID, "2025-06-01"),
        resources={"tiktok_shop": defs.resources["tiktok_shop"], "warehouse": defs.resources["warehouse"]},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    for var in ("TIKTOK_SHOP_APP_KEY", "TIKTOK_SHOP_APP_SECRET", "TIKTOK_SHOP_ACCESS_TOKEN"):
        assert var in message
    # refused credentials are not retried: exactly one attempt
    assert sum(e.event_type_value == "STEP_START" for e in result.all_events) == 1


def _tick(defs) -> list[dg.RunRequest] | dg.SkipReason:
    schedule = defs.resolve_schedule_def("daily_ingest_schedule")
    context = dg.build_schedule_context(
        repository_def=defs.get_repository_def(),
        scheduled_execution_time=datetime(2025, 6, 2, 0, 15, tzinfo=UTC),
    )
    data = schedule.evaluate_tick(context)
    return data.run_requests or data.skip_message


def test_the_schedule_runs_only_configured_vendors_and_says_which_it_left_out(bare_env, monkeypatch):
    skipped = _tick(_defs())
    assert isinstance(skipped, str) and "no source is configured" in skipped and "KLAVIYO_API_KEY" in skipped

    monkeypatch.setenv("KLAVIYO_API_KEY", "pk_live_example")  # one vendor only
    defs = _defs()
    requests = _tick(defs)
    assert requests and all(r.tags["unconfigured"] for r in requests)
    graph = defs.get_repository_def().asset_graph
    for request in requests:
        resources = {
            key for k in request.asset_selection for key in graph.get(k).assets_def.required_resource_keys
        }
        assert "klaviyo" in resources
        assert not resources & {"tiktok_shop", "tiktok_content", "ga4", "customerio", "sendgrid"}
    assert "tiktok_shop" in requests[0].tags["unconfigured"]


def test_a_warehouse_keeps_its_mode(warehouse_url):
    assert mode.claim(warehouse_url, sandbox=False) is False
    assert mode.claim(warehouse_url, sandbox=False) is False
    with pytest.raises(mode.WarehouseModeError, match="real .* warehouse; refusing a sandbox"):
        mode.claim(warehouse_url, sandbox=True)


def test_a_sandbox_database_commits_without_waiting_for_the_disk(warehouse_url):
    import psycopg

    from marketing_pipeline.warehouse import embedded

    def setting() -> str:
        with psycopg.connect(warehouse_url) as conn:
            return conn.execute("SHOW synchronous_commit").fetchone()[0]

    assert setting() == "on"
    embedded.commits_without_flush(warehouse_url)
    assert setting() == "off"  # for every session opened afterwards


def test_a_sandbox_run_on_a_real_warehouse_is_refused(warehouse_url, sandbox, vendor_env_for):
    from marketing_pipeline.sources.ga4.assets import ga4_assets

    mode.claim(warehouse_url, sandbox=False)  # a brand's warehouse
    vendor_env_for(sandbox[1])  # sandbox mode
    defs = _defs()
    result = dg.materialize(
        ga4_assets[:1],
        partition_key=brand_day_key(DEFAULT_ID, "2025-06-01"),
        resources={"ga4": defs.resources["ga4"], "warehouse": defs.resources["warehouse"]},
        raise_on_error=False,
    )
    assert not result.success
    init = next(e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE")
    assert "refusing a sandbox (generated data) run" in str(init.event_specific_data.error.to_string())


def test_without_the_switch_the_command_starts_no_sandbox_and_writes_nothing_generated(
    bare_env, warehouse_url, conn, tmp_path, monkeypatch
):
    for var in ("DAGSTER_HOME", "DAGSTER_POSTGRES_URL", "CELERY_BROKER_URL", "CELERY_BACKEND_URL"):
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    monkeypatch.setenv("MARKETING_STATE_DIR", str(tmp_path))
    rt = cli._start(argparse.Namespace(sandbox=False))
    assert not rt.sandbox and set(rt.unconfigured) == set(VENDORS)
    assert not any(v in __import__("os").environ for v in ("KLAVIYO_API_KEY", "KLAVIYO_BASE_URL"))
    assert conn.execute("SELECT sandbox FROM ops.warehouse_mode").fetchone() == (False,)
    raw = conn.execute(
        "SELECT string_agg(format('SELECT count(*) FROM %I.%I', table_schema, table_name), ' UNION ALL ') "
        "FROM information_schema.tables WHERE table_schema = 'raw'"
    ).fetchone()[0]
    assert sum(n for (n,) in conn.execute(raw).fetchall()) == 0


def test_sandbox_credentials_configure_every_vendor():
    env = credentials.environ("http://127.0.0.1:9")
    assert all(v.configured(env) for v in VENDORS.values())
    assert env["MARKETING_SANDBOX"] == "1"
