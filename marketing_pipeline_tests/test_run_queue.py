"""The run queue per brand (dagster.yaml, run_queue.py) and the vendor limits within a run."""

from __future__ import annotations

import os
import uuid

import dagster as dg
import psycopg
import pytest
import yaml
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.test_utils import create_run_for_test
from dagster._utils.tags import TagConcurrencyLimitsCounter

from marketing_pipeline.ingest import API_TAG
from marketing_pipeline.pools import POOL_LIMITS
from marketing_pipeline.run_queue import BRAND_TAG, BrandRunCoordinator, brand_of_run
from marketing_pipeline.settings import PROJECT_ROOT
from marketing_pipeline_tests.conftest import _with_db, dagster_postgres_url

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


@pytest.fixture
def project_instance(pg_server_url, monkeypatch, tmp_path):
    """A Dagster instance from the project's dagster.yaml, on a database of its own."""
    name = f"mp_dq_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", dagster_postgres_url(_with_db(pg_server_url, name)))
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    with dg.instance_for_test(overrides=config, temp_dir=str(tmp_path)) as instance:
        yield instance
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(instance, tags: dict) -> dg.DagsterRun:
    """A run as a backfill or schedule creates it (NOT_STARTED, from a code location)."""
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("marketing_pipeline"), "__repository__"),
        "daily_ingest",
    )
    return create_run_for_test(instance, job_name="daily_ingest", tags=tags, remote_job_origin=origin)


def test_each_brands_runs_are_queued_under_their_brand_and_limited_per_brand(project_instance):
    coordinator = project_instance.run_coordinator
    assert isinstance(coordinator, BrandRunCoordinator)
    limits = project_instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    per_brand = next(lim for lim in limits if lim["key"] == BRAND_TAG)
    assert per_brand["value"] == {"applyLimitPerUniqueValue": True} and per_brand["limit"] == 3

    def submit(tags: dict) -> dg.DagsterRun:
        return coordinator.submit_run(dg.SubmitRunContext(_run(project_instance, tags), workspace=None))

    # a backfill's batched runs: only their range names the brand
    lumen = [
        submit({RANGE[0]: f"lumenleaf|2026-06-0{i}", RANGE[1]: f"lumenleaf|2026-06-0{i}"})
        for i in range(1, 5)
    ]
    north = submit({"dagster/partition": "northwind|2026-06-01", "dagster/partition/brand": "northwind"})
    mixed = submit({RANGE[0]: "lumenleaf|2026-06-01", RANGE[1]: "kumo|2026-06-01"})
    assert {r.status for r in [*lumen, north, mixed]} == {dg.DagsterRunStatus.QUEUED}
    assert [r.tags[BRAND_TAG] for r in lumen] == ["lumenleaf"] * 4
    assert north.tags[BRAND_TAG] == "northwind" and BRAND_TAG not in mixed.tags

    # three of lumenleaf's runs in progress: its fourth waits, northwind's starts
    counter = TagConcurrencyLimitsCounter(limits, lumen[:3])
    assert counter.is_blocked(lumen[3]) and not counter.is_blocked(north)


def test_brand_of_run():
    assert brand_of_run({RANGE[0]: "kumo|2026-06-01", RANGE[1]: "kumo|2026-06-09"}) == "kumo"
    assert brand_of_run({RANGE[0]: "kumo|2026-06-01", RANGE[1]: "northwind|2026-06-01"}) is None
    assert brand_of_run({"dagster/partition": "kumo"}, ("kumo",)) == "kumo"  # a brand-partitioned mart
    assert brand_of_run({"dagster/partition": "2026-06-01"}, ("kumo",)) is None


def test_within_a_run_each_vendor_api_runs_at_most_its_limit(vendor_env_for):
    """No vendor pool is shared by every brand's steps; the default executor limits each vendor
    API's steps in a run (one brand's account), as POOL_LIMITS says."""
    vendor_env_for("http://127.0.0.1:9")
    from marketing_pipeline.definitions import defs

    job = defs.resolve_job_def("daily_ingest")
    applied = job.executor_def.apply_config_mapping({"config": {"max_concurrent": 6}})
    assert applied.success, applied.errors
    config = applied.value["config"]
    assert config["max_concurrent"] == 6  # still set per run
    limits = {(lim["key"], lim["value"]): lim["limit"] for lim in config["tag_concurrency_limits"]}
    assert limits == {(API_TAG, api): n for api, n in POOL_LIMITS.items()}
    # every ingestion step names its API (the job's asset checks call none)
    apis = {n.definition.tags.get(API_TAG) for n in job.graph.node_dict.values()} - {None}
    assert apis == {"tiktok_shop_api", "klaviyo_api", "ga4_api", "customerio_api"}
    assert all(not n.definition.pool for n in job.graph.node_dict.values())
