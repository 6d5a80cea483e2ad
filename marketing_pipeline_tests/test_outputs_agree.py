"""Every output gives the same figures: the demo summary, ``/dashboard/api/data`` and the Klaviyo
lists (as the emulator holds them) for one range of a warehouse built from the sandbox."""

import re
from datetime import timedelta
from types import SimpleNamespace

import dagster as dg
import pytest

from marketing_pipeline.activation.klaviyo.assets import klaviyo_list_sync, klaviyo_profile_sync
from marketing_pipeline.activation.klaviyo.config import DEFAULT_LIST_SEGMENTS
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.sandbox.credentials import TIKTOK_ACCESS_TOKEN, TIKTOK_APP_KEY, TIKTOK_APP_SECRET
from marketing_pipeline.sandbox.demo import marts as marts_demo
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.klaviyo.assets_profiles import klaviyo_profiles
from marketing_pipeline.sources.tiktok_shop.assets import tiktok_shop_orders
from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline.web.app import create_app
from marketing_pipeline_tests.conftest import TODAY
from marketing_pipeline_tests.dashboard_support import signed_in
from marketing_pipeline_tests.klaviyo_activation_support import materialize
from marketing_pipeline_tests.klaviyo_support import resources as klaviyo_resources
from marketing_pipeline_tests.klaviyo_support import small_sandbox
from marketing_pipeline_tests.marts_fixtures import build

LAST = TODAY - timedelta(days=1)
DAYS = [LAST - timedelta(days=i) for i in range(13, -1, -1)]

PASSWORD = "outputs-agree-password"


@pytest.fixture
def built(warehouse_url, conn):
    """Two weeks of TikTok Shop orders and Klaviyo profiles from the sandbox, the model, the lists."""
    box = small_sandbox(TODAY, scale=0.05)
    with BackgroundServer(box.app) as server:
        url = server.url
        tags = {
            "dagster/asset_partition_range_start": str(brand_day_key(DEFAULT_ID, DAYS[0].isoformat())),
            "dagster/asset_partition_range_end": str(brand_day_key(DEFAULT_ID, DAYS[-1].isoformat())),
        }
        res = {
            **klaviyo_resources(url),
            "tiktok_shop": TikTokShopResource(
                base_url=url + "/tiktok-shop",
                app_key=TIKTOK_APP_KEY,
                app_secret=TIKTOK_APP_SECRET,
                access_token=TIKTOK_ACCESS_TOKEN,
            ),
            "warehouse": WarehouseResource(),
        }
        assert dg.materialize([tiktok_shop_orders, klaviyo_profiles], resources=res, tags=tags).success
        build(conn, DAYS[0], DAYS[-1], segments_from=DAYS[0])
        assert materialize(url, [klaviyo_profile_sync, klaviyo_list_sync], model=False).success
        yield box.emulators["klaviyo"].writes


def summary_section(lines: list[str], heading: str) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    out = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        out.append(line)
    return out


def test_demo_summary_dashboard_and_klaviyo_lists_agree(built, conn, monkeypatch):
    monkeypatch.setenv("DASHBOARD_PASSWORD", PASSWORD)
    writes = built
    ctx = SimpleNamespace(days=DAYS, first=DAYS[0].isoformat(), last=DAYS[-1].isoformat())
    lines = marts_demo.summary(conn, ctx)
    with BackgroundServer(create_app()) as web:
        client = signed_in(web.url, PASSWORD)
        api = client.get(
            "/dashboard/api/data", params={"start": DAYS[0].isoformat(), "end": DAYS[-1].isoformat()}
        ).json()
        client.close()

    # Audiences: the summary, the dashboard and the lists in Klaviyo.
    summary_people = {
        m.group(1).strip(): int(m.group(2).replace(",", ""))
        for m in (re.match(r"  (.+?)\s+([\d,]+)$", x) for x in summary_section(lines, "Audiences as of"))
    }
    assert api["audiences"]["as_of"] == DAYS[-1].isoformat()
    for name, segment in DEFAULT_LIST_SEGMENTS.items():
        in_klaviyo = len(writes.members(name))
        assert summary_people[name] == api["audiences"]["people"].get(segment, 0) == in_klaviyo, name
    assert summary_people["All Customers"] > 0 and summary_people["New Subscribers"] > 0

    # Orders and revenue per channel, cancelled orders left out by all of them.
    summary_orders = {
        m.group(1): (int(m.group(2).replace(",", "")), float(m.group(3).replace(",", "")))
        for m in (
            re.match(r"  (\S+)\s+([\d,]+) orders\s+([\d,.]+) net revenue", x)
            for x in summary_section(lines, "Orders ")
        )
    }
    api_orders: dict[str, list] = {}
    for r in api["channels"]:
        acc = api_orders.setdefault(r["channel"], [0, 0.0])
        acc[0] += r["orders"]
        acc[1] += r["revenue"]
    assert {k: (v[0], round(v[1], 2)) for k, v in api_orders.items()} == summary_orders
    # Counted in the source: not cancelled, and not every line cancelled (a full refund).
    placed = conn.execute(
        "SELECT count(*) FROM raw.tiktok_shop_orders o WHERE status <> 'CANCELLED' AND partition_date BETWEEN %s AND %s"
        " AND o.total_amount > (SELECT coalesce(sum(sale_price), 0) FROM raw.tiktok_shop_order_lines l"
        "                       WHERE l.order_id = o.order_id AND l.display_status = 'CANCELLED')",
        (DAYS[0], DAYS[-1]),
    ).fetchone()[0]
    assert summary_orders["tiktok_shop"][0] == placed and api["kpis"]["current"]["orders"] == placed
    # Attribution holds the same orders: the email table and the UTM campaigns read no others.
    attributed = dict(
        conn.execute(
            "SELECT channel, count(*) FROM marts.attribution WHERE order_date BETWEEN %s AND %s GROUP BY 1",
            (DAYS[0], DAYS[-1]),
        ).fetchall()
    )
    assert attributed == {k: v[0] for k, v in summary_orders.items() if v[0]}
    assert sum(r["orders"] for r in api["campaigns"]) <= placed

    # The funnel: the same stages with the same values (n/a where a source is incomplete).
    summary_funnel = summary_section(lines, "Funnel ")
    for r in api["funnel"]:
        row = next(x for x in summary_funnel if x.split()[0] == r["channel"] and r["stage"] in x)
        shown = row[len(f"  {r['channel']:<9}{r['stage']:<18}") :].split()[0]
        assert shown == ("n/a" if r["value"] is None else f"{int(r['value']):,}"), row
    # The funnel's orders are the same counted orders (summed over the days loaded).
    tiktok_orders = next(r for r in api["funnel"] if r["channel"] == "tiktok" and r["stage"] == "orders")
    assert tiktok_orders["covered_value"] == placed  # n/a here when a day had no rows; the sum agrees
