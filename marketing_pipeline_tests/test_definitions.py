"""The definitions load, the schedule asks for the lookback window, and nothing else is surprising."""

import subprocess
import sys
from datetime import datetime, timedelta

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.ingest import API_TAG
from marketing_pipeline.pools import POOL_LIMITS
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline_tests.conftest import TODAY


def test_definitions_validate_with_the_dagster_cli(vendor_env_for, tmp_path, monkeypatch):
    vendor_env_for("http://127.0.0.1:9")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # an empty home: the ephemeral instance
    import os

    out = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "marketing_pipeline.definitions"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_ingest_asset_has_brand_day_partitions_vendor_tag_retry_and_backfill_policy(vendor_env_for):
    vendor_env_for("http://127.0.0.1:9")
    from marketing_pipeline.definitions import defs

    raw = [a for a in defs.resolve_all_asset_specs() if a.tags.get("layer") == "raw"]
    assert raw, "no ingestion assets"
    graph = defs.resolve_asset_graph()
    for spec in raw:
        node = graph.get(spec.key)
        assert node.partitions_def.partitions_defs[0].name == "brand", spec.key
        assert node.partitions_def.get_partitions_def_for_dimension("brand").get_partition_keys() == [
            DEFAULT_ID
        ]
        assert node.backfill_policy is not None, spec.key
        # no vendor pool shared by every brand: the executor limits the vendor's steps within a run
        assert not node.pools, spec.key
        op_tags = node.assets_def.node_def.tags
        assert op_tags[API_TAG] in POOL_LIMITS, spec.key


def test_schedule_tick_requests_the_lookback_partitions(vendor_env_for, monkeypatch):
    vendor_env_for("http://127.0.0.1:9")
    monkeypatch.setenv("LOOKBACK_DAYS", "7")
    from marketing_pipeline.definitions import defs

    schedule = defs.resolve_schedule_def("daily_ingest_schedule")
    tick = datetime.combine(TODAY, datetime.min.time(), tzinfo=settings.load().tz) + timedelta(minutes=15)
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
        )
        requests = list(schedule.evaluate_tick(context).run_requests)
    keys = [r.partition_key for r in requests]
    assert keys == [brand_day_key(DEFAULT_ID, TODAY - timedelta(days=i)) for i in range(1, 8)]
    assert len({r.run_key for r in requests}) == 7
