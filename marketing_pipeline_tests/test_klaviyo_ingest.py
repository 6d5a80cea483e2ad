"""Klaviyo ingestion end to end: emulator over HTTP -> client -> Dagster assets -> PostgreSQL."""

import copy
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import dagster as dg
import pytest

from marketing_pipeline import clock
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.sandbox.klaviyo import emulator as emulator_module
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.klaviyo.assets_catalog import (
    klaviyo_campaigns,
    klaviyo_flows,
    klaviyo_lists_segments,
)
from marketing_pipeline.sources.klaviyo.assets_events import klaviyo_events
from marketing_pipeline.sources.klaviyo.assets_profiles import klaviyo_profiles
from marketing_pipeline.sources.klaviyo.assets_reports import klaviyo_performance
from marketing_pipeline_tests.conftest import TODAY
from marketing_pipeline_tests.klaviyo_support import emulator, expected_events, resources, small_sandbox


@pytest.fixture(scope="module")
def klaviyo_sandbox():
    box = small_sandbox(TODAY)
    with BackgroundServer(box.app) as server:
        yield box, server.url


def campaign_day(box, days_ago_at_least: int = 3):
    """The latest day with a campaign send and a few orders."""
    sent = [
        c.send_time.date()
        for c in emulator(box).data.campaigns
        if c.status == "Sent"
        and (TODAY - c.send_time.date()).days >= days_ago_at_least
        and len(box.world.orders_on(c.send_time.date())) >= 3
    ]
    return sent[-1]


def event_counts(conn) -> Counter:
    return Counter(
        {
            (d, m): n
            for d, m, n in conn.execute(
                "SELECT partition_date, metric_name, count(*) FROM raw.klaviyo_events GROUP BY 1, 2"
            )
        }
    )


def snapshot(conn) -> list:
    """Every row of the three tables but the load bookkeeping (_loaded_at, _run_id)."""
    out = []
    for table in ("raw.klaviyo_events", "raw.klaviyo_orders", "raw.klaviyo_order_lines"):
        cols = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = %s "
                "AND column_name NOT IN ('_loaded_at', '_run_id') ORDER BY ordinal_position",
                (table,),
            )
        ]
        out.append(conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY 1, 2").fetchall())
    return out


def test_a_campaign_day_loads_every_event_orders_and_lines_and_rerun_is_identical(
    klaviyo_sandbox, warehouse_url, conn
):
    box, url = klaviyo_sandbox
    day = campaign_day(box)
    result = dg.materialize(
        [klaviyo_events], partition_key=brand_day_key(DEFAULT_ID, day.isoformat()), resources=resources(url)
    )
    assert result.success
    expected = expected_events(box, day, day)
    assert event_counts(conn) == expected and expected[(day, "Received Email")] > 100
    assert conn.execute("SELECT count(DISTINCT event_id) = count(*) FROM raw.klaviyo_events").fetchone()[0]
    orders = [o for o in box.world.orders_on(day)]
    got = conn.execute(
        "SELECT order_id, value, source, item_count FROM raw.klaviyo_orders ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in got] == sorted(o.order_id for o in orders)
    by_id = {o.order_id: o for o in orders}
    assert all(
        r[1] == by_id[r[0]].total
        and r[2] == by_id[r[0]].channel
        and r[3] == sum(ln.quantity for ln in by_id[r[0]].lines)
        for r in got
    )
    lines = conn.execute("SELECT count(*), sum(quantity) FROM raw.klaviyo_order_lines").fetchone()
    assert lines == (sum(len(o.lines) for o in orders), sum(ln.quantity for o in orders for ln in o.lines))
    utm = conn.execute(
        "SELECT count(*) FROM raw.klaviyo_orders WHERE utm_source = 'klaviyo' "
        "AND attributed_campaign_id IS NOT NULL"
    ).fetchone()[0]
    assert utm == sum(1 for o in orders if o.utm.get("utm_source") == "klaviyo")
    mat = result.asset_materializations_for_node("klaviyo_events")
    events_meta = next(m for m in mat if m.asset_key == dg.AssetKey("klaviyo_events")).metadata
    assert events_meta["rows"].value == sum(expected.values()) and events_meta["pages"].value >= 2
    first = snapshot(conn)
    assert dg.materialize(
        [klaviyo_events], partition_key=brand_day_key(DEFAULT_ID, day.isoformat()), resources=resources(url)
    ).success
    assert snapshot(conn) == first


def test_two_year_backfill_in_multi_day_runs_has_the_right_counts(warehouse_url, conn):
    box = small_sandbox(TODAY, scale=0.005)  # the smallest brand: two years stay a few seconds
    server = BackgroundServer(box.app).start()
    url = server.url
    first, last = TODAY - timedelta(days=730), TODAY - timedelta(days=1)
    bounds, start = [], first
    while start <= last:  # four runs of about six months, each one transaction
        end = min(last, start + timedelta(days=182))
        bounds.append((start, end))
        start = end + timedelta(days=1)
    for start, end in bounds:
        result = dg.materialize(
            [klaviyo_events],
            resources=resources(url),
            tags={
                "dagster/asset_partition_range_start": str(brand_day_key(DEFAULT_ID, start.isoformat())),
                "dagster/asset_partition_range_end": str(brand_day_key(DEFAULT_ID, end.isoformat())),
            },
        )
        assert result.success
    expected = expected_events(box, first, last)
    assert event_counts(conn) == expected
    orders = sum(len(box.world.orders_on(first + timedelta(days=i))) for i in range((last - first).days + 1))
    assert conn.execute("SELECT count(*) FROM raw.klaviyo_orders").fetchone()[0] == orders
    assert conn.execute("SELECT count(DISTINCT partition_date) FROM raw.klaviyo_events").fetchone()[0] == (
        len({d for d, _ in expected})
    )
    server.stop()


@pytest.mark.parametrize("faults", ["klaviyo:429=0.35,503=0.05,drop=0.05,retry_after=0"])
def test_a_429_storm_is_ridden_out_with_nothing_lost_or_duplicated(faults, warehouse_url, conn):
    box = small_sandbox(TODAY, faults=faults)
    day = campaign_day(box)
    with BackgroundServer(box.app) as server:
        result = dg.materialize(
            [klaviyo_events],
            partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
            resources=resources(server.url, max_attempts=15),
        )
    assert result.success
    injected = box.injectors["klaviyo"].injected
    assert injected.get("429", 0) >= 3
    assert event_counts(conn) == expected_events(box, day, day)


def test_a_malformed_event_is_named_kept_and_nothing_is_written(
    klaviyo_sandbox, warehouse_url, conn, monkeypatch
):
    box, url = klaviyo_sandbox
    day = campaign_day(box, 10)
    original = emulator_module.event_json
    bad = {}

    def corrupt(ev, metric_id, base):
        # A deep copy: the emulator shares cached event properties with every later request.
        body = copy.deepcopy(original(ev, metric_id, base))
        if ev.metric == "Placed Order" and not bad:
            body["attributes"]["event_properties"]["Items"][0]["Quantity"] = "two"
            bad["id"] = ev.id
        return body

    monkeypatch.setattr(emulator_module, "event_json", corrupt)
    result = dg.materialize(
        [klaviyo_events],
        partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
        resources=resources(url),
        raise_on_error=False,
    )
    assert not result.success and bad
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.event_specific_data.error)
    assert f"Klaviyo Placed Order event {bad['id']} is malformed" in message
    assert "attributes.event_properties.Items.0.Quantity" in message
    source, reason, payload = conn.execute("SELECT source, reason, payload FROM ops.dead_letters").fetchone()
    assert source == "klaviyo.events" and bad["id"] in reason and '"two"' in payload
    for table in ("raw.klaviyo_events", "raw.klaviyo_orders", "raw.klaviyo_order_lines"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_profiles_write_consent_and_suppressions_for_every_sender(klaviyo_sandbox, warehouse_url, conn):
    box, url = klaviyo_sandbox
    data = emulator(box).data
    states = {c.email: data.profile_state(c) for c in box.world.customers}
    changed = sorted(
        {
            s["updated"].date()
            for s in states.values()
            if s["updated"] != s["created"] and s["updated"].date() < TODAY
        }
    )
    start, end = changed[-8], changed[-1]
    result = dg.materialize(
        [klaviyo_profiles],
        resources=resources(url),
        tags={
            "dagster/asset_partition_range_start": str(brand_day_key(DEFAULT_ID, start.isoformat())),
            "dagster/asset_partition_range_end": str(brand_day_key(DEFAULT_ID, end.isoformat())),
        },
    )
    assert result.success
    in_range = {e: s for e, s in states.items() if start <= s["updated"].date() <= end}
    assert conn.execute("SELECT count(*) FROM raw.klaviyo_profiles").fetchone()[0] == len(in_range)
    unsubscribed = {e for e, s in in_range.items() if s["consent"] == "UNSUBSCRIBED"}
    bounced = {e for e, s in in_range.items() if s["suppression"]}
    assert unsubscribed and bounced
    rows = dict(
        conn.execute("SELECT email, reason FROM ops.suppressions WHERE source = 'klaviyo'").fetchall()
    )
    assert {e for e, r in rows.items() if r == "unsubscribed"} == unsubscribed
    assert {e for e, r in rows.items() if r == "bounced"} == bounced - unsubscribed
    from marketing_pipeline import consent

    everyone = list(in_range)
    allowed = consent.may_subscribe(conn, everyone)
    assert allowed == {
        e for e, s in in_range.items() if s["consent"] == "SUBSCRIBED" and not s["suppression"]
    }
    assert not allowed & (unsubscribed | bounced)
    before = conn.execute("SELECT * FROM ops.consent ORDER BY 1, 4").fetchall()
    assert dg.materialize(
        [klaviyo_profiles],
        resources=resources(url),
        tags={
            "dagster/asset_partition_range_start": str(brand_day_key(DEFAULT_ID, start.isoformat())),
            "dagster/asset_partition_range_end": str(brand_day_key(DEFAULT_ID, end.isoformat())),
        },
    ).success
    assert conn.execute("SELECT * FROM ops.consent ORDER BY 1, 4").fetchall() == before


def test_campaigns_flows_lists_and_performance(klaviyo_sandbox, warehouse_url, conn, monkeypatch):
    box, url = klaviyo_sandbox
    monkeypatch.setattr(clock, "now", lambda: datetime.combine(TODAY, time(12), UTC))  # counts are "now"
    data = emulator(box).data
    day = campaign_day(box)
    yesterday = TODAY - timedelta(days=1)
    tags = {
        "dagster/asset_partition_range_start": str(brand_day_key(DEFAULT_ID, day.isoformat())),
        "dagster/asset_partition_range_end": str(brand_day_key(DEFAULT_ID, yesterday.isoformat())),
    }
    result = dg.materialize(
        [klaviyo_campaigns, klaviyo_flows, klaviyo_lists_segments, klaviyo_performance],
        resources=resources(url),
        tags=tags,
    )
    assert result.success
    assert conn.execute("SELECT count(*) FROM raw.klaviyo_campaigns").fetchone()[0] == len(data.campaigns)
    assert conn.execute("SELECT count(*) FROM raw.klaviyo_campaign_messages").fetchone()[0] == len(
        data.campaigns
    )
    days = (yesterday - day).days + 1
    existing = sum(
        1 for c in data.campaigns for i in range(days) if c.created_at.date() <= day + timedelta(days=i)
    )
    assert conn.execute("SELECT count(*) FROM raw.klaviyo_campaign_snapshots").fetchone()[0] == existing
    assert conn.execute("SELECT count(*) FROM raw.klaviyo_flows").fetchone()[0] == len(data.flows)
    sends = sum(1 for f in data.flows for a in f.actions if a[2])
    assert conn.execute("SELECT count(*) FROM raw.klaviyo_flow_messages").fetchone()[0] == sends
    assert (
        conn.execute("SELECT count(*) FROM raw.klaviyo_flow_snapshots").fetchone()[0]
        == len(data.flows) * days
    )
    counts = dict(
        conn.execute(
            "SELECT name, profile_count FROM raw.klaviyo_group_counts WHERE partition_date = %s", (yesterday,)
        ).fetchall()
    )
    assert (
        len(counts) == len(data.lists) + len(data.segments) and counts["Newsletter"] == data.lists[0]["count"]
    )
    # campaign performance: one row per campaign sent in the range, matching the events of its send
    perf = conn.execute(
        "SELECT partition_date, recipients, opens, clicks FROM raw.klaviyo_campaign_performance "
        "WHERE partition_date = %s",
        (day,),
    ).fetchall()
    expected = expected_events(box, day, day)
    assert len(perf) == 1 and perf[0][1] > 0
    flows_day = conn.execute(
        "SELECT sum(recipients), sum(opens) FROM raw.klaviyo_flow_performance WHERE partition_date = %s",
        (day,),
    ).fetchone()
    assert perf[0][1] + flows_day[0] == expected[(day, "Received Email")]
    assert perf[0][2] + flows_day[1] == expected[(day, "Opened Email")]
    campaign_days = {c.send_time.date() for c in data.campaigns if c.send_time and c.status == "Sent"}
    flow_orders = [
        o
        for i in range(days)
        for o in box.world.orders_on(day + timedelta(days=i))
        if o.utm.get("utm_source") == "klaviyo" and o.created_at.date() not in campaign_days
    ]
    flow_conv = conn.execute(
        "SELECT coalesce(sum(conversions), 0), coalesce(sum(conversion_value), 0) "
        "FROM raw.klaviyo_flow_performance"
    ).fetchone()
    assert flow_conv[0] == len(flow_orders) and float(flow_conv[1]) == pytest.approx(
        float(sum(o.total for o in flow_orders)), abs=0.05
    )
    calls = conn.execute(
        "SELECT report, count(*) FROM ops.klaviyo_report_calls GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert calls == [
        ("campaign-values-report", 1),
        ("flow-series-report", 1),
    ]  # one of each for the whole range


def test_brand_time_zone_days_split_events_at_local_midnight(klaviyo_sandbox, warehouse_url, conn):
    """With a brand in New York, a day is 05:00 to 05:00 UTC (04:00 in summer): every event lands on its
    own local day, none twice, none lost."""
    from zoneinfo import ZoneInfo

    from marketing_pipeline.partitions import day_bounds
    from marketing_pipeline.sources.klaviyo.assets_events import load_events
    from marketing_pipeline.warehouse import connect
    from marketing_pipeline_tests.klaviyo_support import client

    box, url = klaviyo_sandbox
    tz = ZoneInfo("America/New_York")
    first = campaign_day(box, 12)
    days = [first, first + timedelta(days=1)]
    with connect(warehouse_url) as tx:
        load_events(tx, client(url), days, tz, "tz-test")
    data = emulator(box).data
    start, end = day_bounds(days[0], tz)[0], day_bounds(days[-1], tz)[1]
    expected = Counter()
    hour = start.astimezone(UTC)  # the sandbox generates UTC hours
    while hour < end:
        for ev in data.hour_events(hour):
            if start <= ev.at < end:
                expected[ev.at.astimezone(tz).date()] += 1
        hour += timedelta(hours=1)
    got = dict(conn.execute("SELECT partition_date, count(*) FROM raw.klaviyo_events GROUP BY 1").fetchall())
    assert got == dict(expected) and set(got) == set(days)
    wrong = conn.execute(
        "SELECT count(*) FROM raw.klaviyo_events "
        "WHERE (occurred_at AT TIME ZONE 'America/New_York')::date <> partition_date"
    ).fetchone()[0]
    assert wrong == 0
