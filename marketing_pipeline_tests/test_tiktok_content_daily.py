"""TikTok Shop video analytics end to end: emulator over HTTP -> signed client -> Dagster asset -> PostgreSQL."""

from collections import Counter
from decimal import Decimal

import dagster as dg
import pytest

from marketing_pipeline import settings
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.http import AuthError
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sandbox.tiktok_content.data import VideoWorld
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.tiktok_content.api import list_videos, video_detail
from marketing_pipeline.sources.tiktok_content.assets import tiktok_content_daily
from marketing_pipeline.sources.tiktok_content.resource import TikTokContentResource
from marketing_pipeline.sources.tiktok_shop.client import TikTokShopClient
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.conftest import recent_day

CREDS = {
    "app_key": "sandbox-app-key",
    "app_secret": "sandbox-app-secret",
    "access_token": "sandbox-access-token",
}
PREFIX = "/tiktok-shop-content"
FAULTS = "tiktok-shop-content:429=0.2,500=0.04,drop=0.04,retry_after=0"


def truth(box, day):
    return VideoWorld(box.world, settings.load().tz).day(day)


def test_paging_lists_every_active_video_once_and_details_match(sandbox):
    box, url = sandbox
    day = recent_day(6)
    client = TikTokShopClient(url + PREFIX, **CREDS)
    videos = [v for page in list_videos(client, day, day, page_size=5) for v in page]
    expected = truth(box, day)
    assert client.stats.pages >= 3 and Counter(v.id for v in videos).most_common(1)[0][1] == 1
    assert {v.id for v in videos} == set(expected)
    top = max(videos, key=lambda v: v.views)
    assert top.views == expected[top.id].views and top.username and top.products
    detail = video_detail(client, top.id, day, day)
    (interval,) = detail.performance.intervals
    assert interval.start_date == day
    assert (interval.traffic.likes, interval.traffic.shares, interval.product_clicks) == (
        expected[top.id].likes,
        expected[top.id].shares,
        expected[top.id].product_clicks,
    )


def test_a_wrong_secret_is_refused_with_tiktoks_code(sandbox):
    _, url = sandbox
    client = TikTokShopClient(url + PREFIX, **{**CREDS, "app_secret": "wrong"}, shop_cipher="x")
    with pytest.raises(AuthError, match="sign"):
        next(list_videos(client, recent_day(3), recent_day(3)))


def resources(url: str) -> dict:
    return {
        "tiktok_content": TikTokContentResource(base_url=url + PREFIX, **CREDS),
        "warehouse": WarehouseResource(),
    }


def snapshot(conn):
    return (
        conn.execute(
            "SELECT video_id, content_date, views, likes, comments, shares, product_clicks, gmv, "
            "sku_orders, payload FROM raw.tiktok_content_daily ORDER BY 2, 1"
        ).fetchall(),
        conn.execute(
            "SELECT username, content_date, videos, views, likes, gmv FROM raw.tiktok_content_account_daily"
            " ORDER BY 2, 1"
        ).fetchall(),
    )


def test_materializing_twice_is_identical_and_accounts_add_up(sandbox, warehouse_url, conn):
    box, url = sandbox
    day = recent_day(5)
    result = dg.materialize(
        [tiktok_content_daily],
        partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
        resources=resources(url),
    )
    assert result.success
    first = snapshot(conn)
    expected = truth(box, day)
    assert {r[0] for r in first[0]} == set(expected)
    assert (
        sum(r[2] for r in first[0]) == sum(s.views for s in expected.values()) == sum(r[3] for r in first[1])
    )
    assert sum(r[4] for r in first[1]) == sum(s.likes for s in expected.values())
    shop_sales = sum(
        o.total for o in box.world.orders_between(*day_bounds(day)) if o.channel == "tiktok_shop"
    )
    assert Decimal(0) < sum(r[7] for r in first[0]) <= shop_sales
    mat = result.asset_materializations_for_node("tiktok_content_daily")[0]
    assert (
        mat.metadata["videos"].value == len(expected) and mat.metadata["api_calls"].value >= len(expected) + 1
    )
    assert dg.materialize(
        [tiktok_content_daily],
        partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
        resources=resources(url),
    ).success
    assert snapshot(conn) == first


@pytest.mark.parametrize("faulty_sandbox", [FAULTS], indirect=True)
def test_a_faulty_multi_day_run_equals_clean_single_days(faulty_sandbox, sandbox, warehouse_url, conn):
    box, url = faulty_sandbox
    days = [recent_day(9), recent_day(8)]
    for day in days:
        assert dg.materialize(
            [tiktok_content_daily],
            partition_key=brand_day_key(DEFAULT_ID, day.isoformat()),
            resources=resources(sandbox[1]),
        ).success
    single = snapshot(conn)
    flaky = {
        "tiktok_content": TikTokContentResource(base_url=url + PREFIX, max_attempts=12, **CREDS),
        "warehouse": WarehouseResource(),
    }
    result = dg.materialize(
        [tiktok_content_daily],
        resources=flaky,
        tags={
            "dagster/asset_partition_range_start": str(brand_day_key(DEFAULT_ID, days[0].isoformat())),
            "dagster/asset_partition_range_end": str(brand_day_key(DEFAULT_ID, days[1].isoformat())),
        },
    )
    assert result.success
    assert sum(box.injectors["tiktok-shop-content"].injected.values()) > 0
    strip = lambda rows: [r[:-1] for r in rows]  # noqa: E731 (payload equal too, compared below)
    ranged = snapshot(conn)
    assert strip(ranged[0]) == strip(single[0]) and ranged[1] == single[1]
    assert [r[-1] for r in ranged[0]] == [r[-1] for r in single[0]]
