"""Nothing needs a person: every asset has an automation, and the conditions do what they say."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from marketing_pipeline.automation.policy import MANUAL_TAG
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.settings.brands import DEFAULT_ID

NOW = datetime(2026, 3, 10, 10, 58, tzinfo=UTC)  # a fixed clock: brand time zone UTC in tests
TODAY = NOW.date().isoformat()
INTRADAY = {
    "tiktok_shop_orders",
    "klaviyo_events",
    "klaviyo_orders",
    "klaviyo_order_lines",
    "customerio_deliveries",
}


@contextmanager
def ephemeral():
    """An in-memory instance, as Dagster's own examples evaluate conditions with (not entered as a
    context: entering one leaves Dagster's current-instance state to later tests in the process)."""
    yield dg.DagsterInstance.ephemeral()


@pytest.fixture
def defs(vendor_env_for):
    vendor_env_for("http://127.0.0.1:9")
    from marketing_pipeline.definitions import defs

    return defs


def automated_by_schedules_and_sensors(defs) -> set[dg.AssetKey]:
    """Assets of the jobs that a schedule or sensor running by default launches."""
    repo = defs.get_repository_def()
    keys: set[dg.AssetKey] = set()
    for target in [*repo.schedule_defs, *repo.sensor_defs]:
        if target.default_status.value != "RUNNING":
            continue
        for job_name in {t.job_name for t in getattr(target, "targets", [])} | (
            {target.job_name} if isinstance(target, dg.ScheduleDefinition) else set()
        ):
            keys |= set(repo.get_job(job_name).asset_layer.selected_asset_keys)
    return keys


def test_every_asset_has_an_automation_unless_marked_manual(defs):
    scheduled = automated_by_schedules_and_sensors(defs)
    orphans = [
        spec.key.to_user_string()
        for spec in defs.resolve_all_asset_specs()
        if spec.automation_condition is None
        and spec.key not in scheduled
        and spec.tags.get(MANUAL_TAG[0]) != MANUAL_TAG[1]
    ]
    assert orphans == [], (
        f"assets nothing runs (add a condition in automation/policy.py or tag them manual): {orphans}"
    )
    sensor = defs.resolve_sensor_def("automation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    named = {
        "cart_recovery_daily",
        "sendgrid_suppressions",
        "customerio_order_events",
        "klaviyo_profile_sync",
        "klaviyo_order_event_sync",
        "klaviyo_list_sync",
        "klaviyo_subscription_sync",
    }
    conditions = {s.key.to_user_string() for s in defs.resolve_all_asset_specs() if s.automation_condition}
    assert named <= conditions


def _two_ticks(defs, instance, before: datetime, after: datetime):
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=before)
    return dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=after, cursor=first.cursor
    )


def requested(result) -> dict[str, set]:
    return {
        r.key.to_user_string(): set(result.get_requested_partitions(r.key))
        for r in result.results
        if result.get_num_requested(r.key)
    }


def test_an_intraday_tick_refreshes_only_today_and_skips_unconfigured_vendors(defs, monkeypatch):
    monkeypatch.delenv("KLAVIYO_API_KEY")
    with ephemeral() as instance:
        before = _two_ticks(defs, instance, NOW - timedelta(minutes=30), NOW)
        assert requested(before) == {}  # no tick passed between the two evaluations
        result = _two_ticks(defs, instance, NOW, NOW + timedelta(minutes=3))
        got = requested(result)
        today = brand_day_key(DEFAULT_ID, TODAY)  # the brand's today (UTC in tests), not UTC's latest label
        assert got["tiktok_shop_orders"] == {today} and got["customerio_deliveries"] == {today}
        assert not {"klaviyo_events", "klaviyo_orders", "klaviyo_profile_sync"} & set(got)  # no key: skipped
        assert got["sendgrid_suppressions"] == {None} and got["cart_recovery_daily"] == {
            DEFAULT_ID
        }  # every brand
        assert not {"ga4_traffic_daily", "core_orders"} & set(got)  # daily sources; no source changed yet
        tiktok = next(r for r in result.results if r.key == dg.AssetKey("tiktok_shop_orders"))
        klaviyo = next(r for r in result.results if r.key == dg.AssetKey("klaviyo_events"))
        assert tiktok.true_subset.size == 1 and klaviyo.true_subset.size == 0
        assert "Klaviyo configured" in str(klaviyo.condition.children[1].description)


def test_marts_rebuild_once_after_a_source_changed(defs):
    with ephemeral() as instance:
        cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=NOW).cursor
        instance.report_runless_asset_event(
            dg.AssetMaterialization("tiktok_shop_orders", partition=str(brand_day_key(DEFAULT_ID, TODAY)))
        )
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=NOW + timedelta(minutes=1), cursor=cursor
        )
        assert "core_orders" not in requested(result)  # the hour's tick has not passed yet
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=NOW + timedelta(minutes=3), cursor=result.cursor
        )
        got = requested(result)
        assert {"core_customers", "core_orders", "channel_daily", "source_coverage"} <= set(got)
        again = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=NOW + timedelta(minutes=5), cursor=result.cursor
        )
        assert "core_orders" not in requested(again)  # once per tick


def test_lookback_schedule_leaves_out_unconfigured_vendors(defs, monkeypatch):
    monkeypatch.delenv("GA4_PROPERTY_ID")
    monkeypatch.delenv("GA4_ACCESS_TOKEN", raising=False)
    schedule = defs.resolve_schedule_def("daily_ingest_schedule")
    with ephemeral() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=NOW, repository_def=defs.get_repository_def()
        )
        runs = list(schedule.evaluate_tick(context).run_requests)
    assert runs and all(r.tags["unconfigured"] == "ga4" for r in runs)
    selected = {k.to_user_string() for k in runs[0].asset_selection}
    assert (
        "tiktok_shop_orders" in selected and not {"ga4_traffic_daily", "ga4_landing_pages_daily"} & selected
    )


def test_brand_syncs_run_at_seven_on_each_brands_clock_only_where_its_vendor_is_set(
    three_brands, monkeypatch
):
    from marketing_pipeline.automation import policy
    from marketing_pipeline.brand_partitions import build_brand_partitions

    monkeypatch.delenv("KUMO_KLAVIYO_API_KEY")  # kumo's own Klaviyo is not set up; the others are
    ids = list(three_brands.ids)
    clocks = policy._on_brand_clocks(policy.ACTIVATION_CRON, ids)
    gate = policy.BrandsWhere("the brand's Klaviyo configured", policy._configured(["klaviyo"]))

    @dg.asset(partitions_def=build_brand_partitions("klaviyo"), automation_condition=clocks & gate)
    def morning_sync() -> None: ...

    start = datetime(2026, 1, 14, 12, tzinfo=UTC)  # winter: Berlin UTC+1, Sydney UTC+11
    seen: dict[str, datetime] = {}
    with ephemeral() as instance:
        cursor = None
        for minutes in range(0, 24 * 60 + 1, 30):
            now = start + timedelta(minutes=minutes)
            result = dg.evaluate_automation_conditions(
                defs=[morning_sync], instance=instance, evaluation_time=now, cursor=cursor
            )
            cursor = result.cursor
            for key in result.get_requested_partitions(morning_sync.key):
                assert key not in seen, f"{key} requested twice"
                seen[key] = now
    # 07:00 Berlin is 06:00 UTC, 07:00 UTC is lumenleaf's; kumo's 07:00 (20:00 UTC) is skipped
    assert seen == {
        "northwind": datetime(2026, 1, 15, 6, 0, tzinfo=UTC),
        "lumenleaf": datetime(2026, 1, 15, 7, 0, tzinfo=UTC),
    }
