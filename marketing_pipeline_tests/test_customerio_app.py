"""Customer.io App API end to end: emulator over HTTP -> client -> Dagster assets -> PostgreSQL."""

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import dagster as dg
import httpx
import pytest

from marketing_pipeline import clock
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.http import AuthError
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.customerio import hosts
from marketing_pipeline.sources.customerio.assets import customerio_campaign_metrics, customerio_deliveries
from marketing_pipeline.sources.customerio.client import CustomerIoAppClient
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.conftest import recent_day

KEY = "sandbox-cio-app-key"
FAULTS = "customerio:429=0.15,500=0.1,drop=0.1,retry_after=0"
FAST = {"backoff_base": 0.01, "backoff_cap": 0.05}


def workspace(box):
    return box.emulators["customerio"].workspace


def expected_ids(box, day) -> list[str]:
    return sorted(d.id for d in workspace(box).deliveries_between(*day_bounds(day)))


def test_paging_returns_every_delivery_exactly_once(sandbox):
    box, url = sandbox
    day = recent_day(12)
    with CustomerIoAppClient(url + "/customerio/app", KEY, **FAST) as client:
        ids = [d.id for page in client.deliveries(*day_bounds(day), limit=40) for d in page]
        pages = client.stats.pages
    assert len(ids) > 100 and pages > 3
    assert Counter(ids).most_common(1)[0][1] == 1
    assert sorted(ids) == expected_ids(box, day)


def test_newsletters_page_with_next_until_empty(sandbox):
    box, url = sandbox
    with CustomerIoAppClient(url + "/customerio/app", KEY, **FAST) as client:
        ids = [n.id for page in client.newsletters(limit=7) for n in page]
    assert ids == [n["id"] for n in workspace(box).newsletters()] and len(ids) > 50


def test_a_wrong_key_is_an_auth_error_with_the_vendor_message(sandbox):
    _, url = sandbox
    with (
        CustomerIoAppClient(url + "/customerio/app", "wrong", **FAST) as client,
        pytest.raises(AuthError) as err,
    ):
        client.campaigns()
    assert err.value.status == 401 and "App API key" in err.value.message and client.stats.retries == 0


def test_the_emulator_answers_a_burst_over_10_per_second_with_429(sandbox):
    _, url = sandbox
    with httpx.Client() as http:
        codes = [
            http.get(
                url + "/customerio/app/v1/broadcasts", headers={"Authorization": f"Bearer {KEY}"}
            ).status_code
            for _ in range(14)
        ]
    assert 429 in codes and codes[0] == 200


@pytest.mark.parametrize("faulty_sandbox", [FAULTS], indirect=True)
def test_faults_are_survived_with_nothing_lost_or_duplicated(faulty_sandbox):
    box, url = faulty_sandbox
    day = recent_day(9)
    with CustomerIoAppClient(url + "/customerio/app", KEY, max_attempts=12, **FAST) as client:
        ids = [d.id for page in client.deliveries(*day_bounds(day), limit=25) for d in page]
        retries = client.stats.retries
    assert sorted(ids) == expected_ids(box, day)
    injected = box.injectors["customerio"].injected
    assert retries >= sum(injected.values()) > 0 and {"429", "drop"} & set(injected)


def test_region_picks_hosts_and_a_sandbox_url_implies_its_siblings():
    assert hosts.resolve("app", "eu", "https://api.customer.io") == "https://api-eu.customer.io"
    assert hosts.resolve("track", "eu") == "https://track-eu.customer.io"
    assert (
        hosts.resolve("track", "us", "", "http://127.0.0.1:1/customerio/app")
        == "http://127.0.0.1:1/customerio/track"
    )
    assert hosts.resolve("app", "us", "http://proxy.local/cio") == "http://proxy.local/cio"
    with pytest.raises(ValueError, match="CUSTOMERIO_REGION"):
        hosts.resolve("app", "ap")


def resources(url: str) -> dict:
    return {
        "customerio": CustomerIoResource(app_base_url=url + "/customerio/app", app_api_key=KEY),
        "warehouse": WarehouseResource(),
    }


def deliveries_snapshot(conn):
    return conn.execute(
        "SELECT delivery_id, email, state, campaign_id, newsletter_id, broadcast_id, created_at, "
        "opened_at, payload, partition_date FROM raw.customerio_deliveries ORDER BY 1"
    ).fetchall()


def test_deliveries_asset_loads_a_day_twice_identically_and_suppresses(sandbox, warehouse_url, conn):
    box, url = sandbox
    day = recent_day(6)
    result = dg.materialize(
        [customerio_deliveries],
        partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
        resources=resources(url),
    )
    assert result.success
    first = deliveries_snapshot(conn)
    assert sorted(r[0] for r in first) == expected_ids(box, day)
    truth = {d.id: d for d in workspace(box).deliveries_between(*day_bounds(day))}
    states = Counter(r[2] for r in first)
    assert states["bounced"] + states["spammed"] + states["unsubscribed"] > 0
    want = {
        d.customer.email for d in truth.values() if {"bounced", "spammed", "unsubscribed"} & set(d.metrics)
    }
    got = {r[0] for r in conn.execute("SELECT email FROM ops.suppressions WHERE source = 'customerio'")}
    assert got == want
    assert dg.materialize(
        [customerio_deliveries],
        partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
        resources=resources(url),
    ).success
    assert deliveries_snapshot(conn) == first


def test_campaign_metrics_match_the_deliveries_of_the_day(sandbox, warehouse_url, conn, monkeypatch):
    box, url = sandbox
    today = box.world.today  # version-1 metrics count back from today: the clock agrees with the sandbox
    monkeypatch.setattr(clock, "now", lambda: datetime.combine(today, time(12), UTC))
    # a newsletter Tuesday within version-1 reach, and the day after
    day = next(today - timedelta(days=n) for n in range(3, 12) if (today - timedelta(days=n)).weekday() == 1)
    keys = [day.isoformat(), (day + timedelta(days=1)).isoformat()]
    result = dg.materialize(
        [customerio_campaign_metrics],
        resources=resources(url),
        tags={
            "dagster/asset_partition_range_start": str(brand_day_key(DEFAULT_ID, keys[0])),
            "dagster/asset_partition_range_end": str(brand_day_key(DEFAULT_ID, keys[1])),
        },
    )
    assert result.success
    for d in (day, day + timedelta(days=1)):
        deliveries = workspace(box).deliveries_between(*day_bounds(d))
        expected = Counter()
        for x in deliveries:
            kind, oid = (
                ("campaign", x.campaign_id)
                if x.campaign_id
                else ("newsletter", x.newsletter_id)
                if x.newsletter_id
                else ("broadcast", x.broadcast_id)
            )
            for metric in ("sent", "opened", "bounced"):
                expected[(kind, oid, metric)] += metric in x.metrics
        rows = conn.execute(
            "SELECT kind, object_id, sent, opened, bounced FROM raw.customerio_campaign_metrics "
            "WHERE partition_date = %s",
            (d,),
        ).fetchall()
        got = Counter()
        for kind, oid, sent, opened, bounced in rows:
            got.update(
                {(kind, oid, "sent"): sent, (kind, oid, "opened"): opened, (kind, oid, "bounced"): bounced}
            )
        assert +got == +expected
    assert any(
        k == "newsletter" for k, *_ in conn.execute("SELECT kind FROM raw.customerio_campaign_metrics")
    )
    catalog = dict(conn.execute("SELECT kind, count(*) FROM raw.customerio_campaigns GROUP BY 1").fetchall())
    assert catalog["campaign"] == 4 and catalog["broadcast"] == 2 and catalog["newsletter"] > 50
    before = conn.execute("SELECT * FROM raw.customerio_campaign_metrics ORDER BY 1, 2, 3").fetchall()
    assert dg.materialize(
        [customerio_campaign_metrics],
        partition_key=brand_day_key(DEFAULT_ID, keys[0]),
        resources=resources(url),
    ).success
    after = conn.execute("SELECT * FROM raw.customerio_campaign_metrics ORDER BY 1, 2, 3").fetchall()
    strip = lambda rows: [r[:-2] for r in rows]  # noqa: E731  (_loaded_at, _run_id differ)
    assert strip(after) == strip(before)


def test_a_partition_is_the_brand_local_day(sandbox, warehouse_url, conn, monkeypatch):
    from zoneinfo import ZoneInfo

    monkeypatch.setenv("BRAND_TIMEZONE", "America/Los_Angeles")
    box, url = sandbox
    day = recent_day(8)
    assert dg.materialize(
        [customerio_deliveries],
        partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
        resources=resources(url),
    ).success
    local = sorted(
        d.id for d in workspace(box).deliveries_between(*day_bounds(day, ZoneInfo("America/Los_Angeles")))
    )
    got = [r[0] for r in conn.execute("SELECT delivery_id FROM raw.customerio_deliveries ORDER BY 1")]
    utc = sorted(d.id for d in workspace(box).deliveries_between(*day_bounds(day, ZoneInfo("UTC"))))
    assert got == local and got != utc
