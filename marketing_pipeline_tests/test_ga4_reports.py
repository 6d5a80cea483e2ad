"""GA4 end to end: emulator over HTTP -> client (paging, auth, quota) -> Dagster assets -> PostgreSQL."""

import json
from decimal import Decimal

import dagster as dg
import pytest

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.http import AuthError
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sandbox.credentials import GA4_ACCESS_TOKEN as SANDBOX_TOKEN
from marketing_pipeline.sandbox.credentials import GA4_PROPERTY_ID as SANDBOX_PROPERTY_ID
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.ga4.assets import ga4_assets
from marketing_pipeline.sources.ga4.auth import StaticToken
from marketing_pipeline.sources.ga4.client import GA4Client, GA4QuotaExhausted
from marketing_pipeline.sources.ga4.reports import LANDING_PAGES, TRAFFIC
from marketing_pipeline.sources.ga4.resource import GA4Resource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.conftest import recent_day

FAULTS = "ga4:429=0.15,500=0.1,503=0.05,drop=0.1,retry_after=0"
QUIET = "ga4:latency=0"  # a private sandbox (no faults) whose emulator a test may reconfigure


def client(url: str, **kw) -> GA4Client:
    return GA4Client(url + "/ga4", SANDBOX_PROPERTY_ID, StaticToken(SANDBOX_TOKEN), **kw)


def website_orders(box, first, last):
    start, _ = day_bounds(first)
    _, end = day_bounds(last)
    return [o for o in box.world.orders_between(start, end) if o.channel == "website"]


def collect(c: GA4Client, report, first, last, **kw) -> list[dict]:
    return [r for page in c.run_report(report.body(first, last), **kw) for r in page.records()]


def test_paging_reads_every_row_once_and_purchases_match_website_orders(sandbox):
    box, url = sandbox
    first, last = recent_day(12), recent_day(10)
    c = client(url)
    records = collect(c, TRAFFIC, first, last, page_size=9)
    keys = [(r["date"], r["sessionSource"], r["sessionMedium"], r["sessionCampaignName"]) for r in records]
    assert len(keys) == len(set(keys)) > 27
    assert c.stats.pages == -(-len(records) // 9)
    orders = website_orders(box, first, last)
    assert sum(r["ecommercePurchases"] for r in records) == len(orders)
    assert sum(r["purchaseRevenue"] for r in records) == sum((o.total for o in orders), Decimal("0"))
    by_source = {}
    for r in records:
        if r["sessionSource"] != "(other)":
            by_source[r["sessionSource"]] = by_source.get(r["sessionSource"], 0) + r["ecommercePurchases"]
    assert by_source.get("klaviyo", 0) == sum(1 for o in orders if o.utm.get("utm_source") == "klaviyo")
    assert all(isinstance(r["sessions"], int) and isinstance(r["purchaseRevenue"], Decimal) for r in records)


def test_traffic_and_landing_page_reports_agree_on_totals(sandbox):
    _, url = sandbox
    day = recent_day(9)
    c = client(url)
    traffic, landing = collect(c, TRAFFIC, day, day), collect(c, LANDING_PAGES, day, day)
    for metric in ("sessions", "ecommercePurchases", "purchaseRevenue", "addToCarts"):
        assert sum(r[metric] for r in traffic) == sum(r[metric] for r in landing)


@pytest.mark.parametrize("faulty_sandbox", [FAULTS], indirect=True)
def test_faults_are_survived_with_nothing_lost_or_duplicated(faulty_sandbox, sandbox):
    box, url = faulty_sandbox
    first, last = recent_day(20), recent_day(18)
    c = client(url, backoff_base=0.01, backoff_cap=0.05, max_attempts=12)
    got = collect(c, TRAFFIC, first, last, page_size=10)
    clean = collect(client(sandbox[1]), TRAFFIC, first, last, page_size=500)
    assert got == clean
    injected = box.injectors["ga4"].injected
    assert c.stats.retries == sum(injected.values()) > 0


@pytest.mark.parametrize("faulty_sandbox", [QUIET], indirect=True)
def test_resource_exhausted_is_a_typed_error_that_is_retried(faulty_sandbox):
    box, url = faulty_sandbox
    emulator = box.emulators["ga4"]
    day = recent_day(8)
    emulator.exhaust_next = 2
    c = client(url, backoff_base=0.01, backoff_cap=0.02)
    assert collect(c, TRAFFIC, day, day) and c.stats.retries == 2
    emulator.exhaust_next = 5
    with pytest.raises(GA4QuotaExhausted) as caught:
        collect(client(url, backoff_base=0.01, backoff_cap=0.02, max_attempts=3), TRAFFIC, day, day)
    assert caught.value.status == 429 and caught.value.code == "RESOURCE_EXHAUSTED" and caught.value.retryable
    assert "tokens per hour" in caught.value.message


def test_a_bad_token_is_an_auth_error_naming_googles_message(sandbox):
    _, url = sandbox
    c = GA4Client(url + "/ga4", SANDBOX_PROPERTY_ID, StaticToken("wrong"), max_attempts=3)
    with pytest.raises(AuthError, match="invalid authentication credentials"):
        collect(c, TRAFFIC, recent_day(5), recent_day(5))
    assert c.stats.calls == 1  # never retried


@pytest.mark.parametrize("faulty_sandbox", [QUIET], indirect=True)
def test_service_account_key_mints_a_token_at_the_overridden_token_url(faulty_sandbox, tmp_path):
    box, url = faulty_sandbox
    emulator = box.emulators["ga4"]
    key = tmp_path / "key.json"
    key.write_text(json.dumps(emulator.service_account_info("https://oauth2.googleapis.com/token")))
    resource = GA4Resource(
        base_url=url + "/ga4",
        property_id=SANDBOX_PROPERTY_ID,
        credentials_json=str(key),
        token_url=url + "/ga4/token",
    )
    with resource.client() as c:
        assert collect(c, TRAFFIC, recent_day(4), recent_day(4))
    assert any(t.startswith("ya29.sandbox-") for t in emulator.tokens)


def resources(url: str) -> dict:
    return {
        "ga4": GA4Resource(
            base_url=url + "/ga4", property_id=SANDBOX_PROPERTY_ID, access_token=SANDBOX_TOKEN
        ),
        "warehouse": WarehouseResource(),
    }


def snapshot(conn):
    cols = "report_date, payload, sessions, purchase_revenue, is_other"
    return [
        conn.execute(f"SELECT {cols} FROM {t} ORDER BY 1, 2::text").fetchall()
        for t in (TRAFFIC.table, LANDING_PAGES.table)
    ]


@pytest.mark.parametrize("faulty_sandbox", [QUIET], indirect=True)
def test_materializing_twice_is_identical_and_other_rows_are_reported(faulty_sandbox, warehouse_url, conn):
    box, url = faulty_sandbox
    box.emulators["ga4"].other_threshold = 12
    day = recent_day(7)
    result = dg.materialize(
        ga4_assets, partition_key=brand_day_key(DEFAULT_ID, day.isoformat()), resources=resources(url)
    )
    assert result.success
    first = snapshot(conn)
    orders = website_orders(box, day, day)
    for table in (TRAFFIC.table, LANDING_PAGES.table):
        purchases, revenue, other = conn.execute(
            f"SELECT sum(ecommerce_purchases), sum(purchase_revenue), count(*) FILTER (WHERE is_other) FROM {table}"
            " WHERE partition_date = %s",
            (day,),
        ).fetchone()
        assert purchases == len(orders) and revenue == sum(o.total for o in orders) and other == 1
    mat = result.asset_materializations_for_node(TRAFFIC.name)[0]
    assert mat.metadata["other_rows"].value == 1 and mat.metadata["data_loss_from_other_row"].value is True
    assert mat.metadata["rows"].value == len(first[0]) == 12
    assert dg.materialize(
        ga4_assets, partition_key=brand_day_key(DEFAULT_ID, day.isoformat()), resources=resources(url)
    ).success
    assert snapshot(conn) == first
