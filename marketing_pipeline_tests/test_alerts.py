"""Alerts reach the Slack emulator once: a failed run, a stale source, an unknown recovery send."""

import dagster as dg
import httpx
import pytest

from marketing_pipeline.alerts import sensors
from marketing_pipeline.alerts.freshness import SOURCES, freshness_checks
from marketing_pipeline.alerts.slack import SlackAlertsResource
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.sandbox.app import build
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.tiktok_shop.assets import tiktok_shop_orders
from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.conftest import TODAY, recent_day

UI = "http://dagster.example:3000"


def tick(sensor, **kwargs) -> str | None:
    """One evaluation in a sensor context that is closed afterwards; returns the new cursor."""
    with dg.build_sensor_context(**kwargs) as context:
        sensor.evaluate_tick(context)
        return context.cursor


@pytest.fixture
def slack(monkeypatch, vendor_env_for):
    """A sandbox of its own (its Slack keeps messages), every vendor configured on it."""
    box = build(seed=7, today=TODAY)
    with BackgroundServer(box.app) as server:
        vendor_env_for(server.url)
        monkeypatch.setenv("DAGSTER_UI_URL", UI)
        resource = SlackAlertsResource(
            token="xoxb-sandbox-token", base_url=server.url + "/slack/api/", channel="#marketing-alerts"
        )
        yield (
            server.url,
            resource,
            lambda: httpx.get(server.url + "/slack/_sandbox/messages").json()["messages"],
        )


def test_a_failing_run_posts_exactly_one_message_linking_to_the_run(slack, warehouse_url, conn):
    url, resource, messages = slack
    resources = {"slack": resource, "warehouse": WarehouseResource()}
    bad = TikTokShopResource(
        base_url=url + "/tiktok-shop", app_key="sandbox-app-key", app_secret="wrong", access_token="x"
    )
    with dg.instance_for_test() as instance:

        def failures(cursor=None):
            return tick(sensors.alert_on_run_failure, instance=instance, cursor=cursor, resources=resources)

        cursor = failures()  # the first tick starts watching from now
        result = dg.materialize(
            [tiktok_shop_orders],
            partition_key=brand_day_key(DEFAULT_ID, recent_day(3).isoformat()),
            instance=instance,
            resources={"tiktok_shop": bad, "warehouse": WarehouseResource()},
            raise_on_error=False,
        )
        assert not result.success
        cursor_after = failures(cursor)
        failures(cursor_after)
        failures(cursor)  # the same failure seen again (a replayed cursor): suppressed by ops.alerts
    got = messages()
    assert len(got) == 1
    assert "Run failed" in got[0]["text"] and "tiktok_shop_orders" in got[0]["text"]
    assert f"{UI}/runs/{result.run_id}" in got[0]["text"]
    assert conn.execute("SELECT kind, delivered_via FROM ops.alerts").fetchall() == [
        ("run_failure", "slack_api")
    ]


def _run_freshness_checks(instance) -> None:
    checks = freshness_checks()
    result = dg.materialize(
        [*checks, *(dg.AssetSpec(k) for k in SOURCES)],
        instance=instance,
        selection=dg.AssetSelection.checks(*checks),
    )
    assert result.success
    return result


def test_a_stale_source_posts_one_message_a_day_and_unconfigured_vendors_none(
    slack, warehouse_url, conn, monkeypatch
):
    _, resource, messages = slack
    from marketing_pipeline.definitions import defs

    monkeypatch.delenv("KLAVIYO_API_KEY")  # Klaviyo not configured: its stale events are expected
    resources = {"slack": resource, "warehouse": WarehouseResource()}
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("customerio_deliveries"))  # fresh
        _run_freshness_checks(instance)  # TikTok Shop orders were never loaded: stale
        repo = defs.get_repository_def()
        cursor = tick(
            sensors.alert_on_failed_checks, instance=instance, resources=resources, repository_def=repo
        )
        _run_freshness_checks(instance)  # still stale on the next evaluation
        tick(
            sensors.alert_on_failed_checks,
            instance=instance,
            cursor=cursor,
            resources=resources,
            repository_def=repo,
        )
    got = messages()
    assert len(got) == 1, got
    assert "tiktok_shop_orders/freshness_check" in got[0]["text"]
    assert f"{UI}/assets/tiktok_shop_orders?view=checks" in got[0]["text"]


def test_an_unknown_send_posts_one_message(slack, warehouse_url, conn):
    _, resource, messages = slack
    conn.execute(
        "INSERT INTO ops.recovery_outbox (cart_id, step, email, status, run_id, detail) VALUES"
        " ('c1', 1, 'a@example.com', 'unknown', 'run-123', 'timeout after send'),"
        " ('c2', 1, 'b@example.com', 'sent', 'run-123', NULL)"
    )
    resources = {"slack": resource, "warehouse": WarehouseResource()}
    with dg.instance_for_test() as instance:
        for _ in range(2):
            tick(sensors.alert_on_unknown_sends, instance=instance, resources=resources)
    got = messages()
    assert len(got) == 1 and "cart c1, step 1" in got[0]["text"] and f"{UI}/runs/run-123" in got[0]["text"]


def test_a_refused_post_is_retried_on_the_next_tick(slack, warehouse_url, conn):
    _, resource, messages = slack
    conn.execute("INSERT INTO ops.recovery_outbox (cart_id, step, status) VALUES ('c9', 2, 'unknown')")
    wrong = SlackAlertsResource(token="xoxb-wrong", base_url=resource.base_url, channel=resource.channel)
    with dg.instance_for_test() as instance:
        with pytest.raises(Exception, match="invalid_auth"):
            tick(
                sensors.alert_on_unknown_sends,
                instance=instance,
                resources={"slack": wrong, "warehouse": WarehouseResource()},
            )
        assert conn.execute("SELECT count(*) FROM ops.alerts").fetchone()[0] == 0  # claim released
        tick(
            sensors.alert_on_unknown_sends,
            instance=instance,
            resources={"slack": resource, "warehouse": WarehouseResource()},
        )
    assert len(messages()) == 1


def test_the_incoming_webhook_path(slack, warehouse_url, conn):
    url, _, messages = slack
    hook = SlackAlertsResource(token="", webhook_url=url + "/slack/services/T000/B000/XXXX")
    conn.execute("INSERT INTO ops.recovery_outbox (cart_id, step, status) VALUES ('c5', 3, 'unknown')")
    with dg.instance_for_test() as instance:
        tick(
            sensors.alert_on_unknown_sends,
            instance=instance,
            resources={"slack": hook, "warehouse": WarehouseResource()},
        )
    assert [m["via"] for m in messages()] == ["webhook"]
    assert conn.execute("SELECT delivered_via FROM ops.alerts").fetchone()[0] == "slack_webhook"


def test_a_failed_run_of_one_brand_names_the_brand(slack, warehouse_url, three_brands):
    from marketing_pipeline.brand_partitions import build_brand_partitions

    _, resource, messages = slack

    @dg.asset(partitions_def=build_brand_partitions())
    def brand_step(context) -> None:
        raise dg.Failure("the brand's vendor refused the key")

    resources = {"slack": resource, "warehouse": WarehouseResource()}
    with dg.instance_for_test() as instance:
        cursor = tick(sensors.alert_on_run_failure, instance=instance, resources=resources)
        result = dg.materialize(
            [brand_step], partition_key="northwind", instance=instance, raise_on_error=False
        )
        assert not result.success
        tick(sensors.alert_on_run_failure, instance=instance, cursor=cursor, resources=resources)
    got = messages()
    assert len(got) == 1
    assert (
        "for brand *Northwind Tea (northwind)*" in got[0]["text"] and "partition northwind" in got[0]["text"]
    )
    assert "lumenleaf" not in got[0]["text"]


def test_staleness_is_per_brand_and_its_own_vendors(slack, warehouse_url, three_brands, monkeypatch):
    from marketing_pipeline import clock
    from marketing_pipeline.brand_partitions import brand_day_key

    _, resource, messages = slack
    monkeypatch.delenv("NORTHWIND_KLAVIYO_API_KEY")  # northwind's Klaviyo not set up: never stale
    resources = {"slack": resource, "warehouse": WarehouseResource()}
    today = clock.now().date()
    with dg.instance_for_test() as instance:
        # lumenleaf loaded everything just now (its own partitions); northwind only TikTok Shop
        for source in SOURCES:
            instance.report_runless_asset_event(
                dg.AssetMaterialization(source, partition=str(brand_day_key("lumenleaf", today)))
            )
        instance.report_runless_asset_event(
            dg.AssetMaterialization("tiktok_shop_orders", partition=str(brand_day_key("northwind", today)))
        )
        result = _run_freshness_checks(instance)
        evaluations = {
            e.asset_key.to_user_string(): e
            for e in (ev.event_specific_data for ev in result.all_events)
            if e.__class__.__name__ == "AssetCheckEvaluation"
        }
        stale = {k: e.metadata["stale_brands"].value for k, e in evaluations.items()}
        # kumo loaded nothing; it has no Customer.io, so it is not stale there
        assert stale == {
            "tiktok_shop_orders": "kumo",
            "klaviyo_events": "kumo",
            "customerio_deliveries": "northwind",
        }
        assert evaluations["klaviyo_events"].metadata["not_configured"].value == "northwind"
        from marketing_pipeline.definitions import defs

        tick(
            sensors.alert_on_failed_checks,
            instance=instance,
            resources=resources,
            repository_def=defs.get_repository_def(),
        )
    got = sorted(m["text"] for m in messages())
    assert len(got) == 3
    assert all("lumenleaf" not in m for m in got)
    assert any("customerio_deliveries" in m and "northwind (last load never)" in m for m in got)
