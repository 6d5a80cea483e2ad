"""``tiktok_content_daily``: each shoppable video's numbers per shop-local day, plus a per-account roll-up.

Per day one list call (paged) finds the active videos; one detail call per video returns its
daily intervals for the whole run. Both tables are replaced for the run's days in one transaction.
TikTok finalises analytics at T-1 (``latest_available_date``); the daily lookback re-reads them.
"""

import json
from collections.abc import Iterator

import dagster as dg

from marketing_pipeline.ingest import (
    ingest_asset_args,
    ingest_errors,
    ingest_metadata,
    ingest_scope,
)
from marketing_pipeline.sources.tiktok_content.api import list_videos, video_detail
from marketing_pipeline.sources.tiktok_content.resource import TikTokContentResource
from marketing_pipeline.sources.tiktok_shop.client import TikTokShopClient
from marketing_pipeline.warehouse import WarehouseResource, copy_rows, delete_partitions

VIDEOS_TABLE = "raw.tiktok_content_daily"
ACCOUNTS_TABLE = "raw.tiktok_content_account_daily"
VIDEO_COLUMNS = (
    "video_id",
    "content_date",
    "username",
    "title",
    "video_post_time",
    "views",
    "likes",
    "comments",
    "shares",
    "saves",
    "new_followers",
    "product_impressions",
    "product_clicks",
    "click_through_rate",
    "gmv",
    "currency",
    "sku_orders",
    "units_sold",
    "customers",
    "payload",
    "partition_date",
    "_run_id",
)

_ACCOUNTS_SQL = f"""
INSERT INTO {ACCOUNTS_TABLE} (username, content_date, videos, views, likes, comments, shares, saves, new_followers,
    product_impressions, product_clicks, gmv, sku_orders, units_sold, partition_date, _run_id)
SELECT coalesce(username, '(unknown)'), content_date, count(*), sum(views), sum(likes), sum(comments), sum(shares),
    sum(saves), sum(new_followers), sum(product_impressions), sum(product_clicks), sum(gmv), sum(sku_orders),
    sum(units_sold), partition_date, %(run_id)s
FROM {VIDEOS_TABLE} WHERE partition_date = ANY(%(days)s)
GROUP BY 1, content_date, partition_date
"""


def video_rows(client: TikTokShopClient, days, run_id: str, counts: dict) -> Iterator[tuple]:
    """Per day, the list gives each active video's orders and units; the detail (one call per video
    for the whole run, daily intervals) gives its traffic and clicks."""
    listed: dict = {}
    for day in days:
        for page in list_videos(client, day, day):
            for video in page:
                listed.setdefault(video.id, {})[day] = video
    counts["videos"] = len(listed)
    for video_id in sorted(listed):
        detail = video_detail(client, video_id, days[0], days[-1])
        for interval in detail.performance.intervals:
            video = listed[video_id].get(interval.start_date)
            if video is None:
                continue  # no activity listed that day
            t, s = interval.traffic, interval.sales.overall
            gmv = s.gmv or interval.gmv or video.gmv
            payload = {"video": video.raw, "interval": interval.model_dump(mode="json", exclude_none=True)}
            yield (
                video_id,
                interval.start_date,
                video.username,
                video.title,
                video.video_post_time,
                t.views if t.views is not None else interval.views,
                t.likes,
                t.comments,
                t.shares,
                t.saves,
                t.new_followers,
                s.product_impressions,
                interval.product_clicks,
                s.ctr if s.ctr is not None else interval.click_through_rate,
                gmv.amount if gmv else None,
                gmv.currency if gmv else None,
                video.sku_orders,
                s.items_sold if s.items_sold is not None else video.units_sold,
                s.customers,
                json.dumps(payload, default=str),
                interval.start_date,
                run_id,
            )


@dg.asset(
    **ingest_asset_args("tiktok_shop", "tiktok_content", api="tiktok_shop_api"),
    description="TikTok Shop shoppable-video analytics per video and shop-local day: views, likes, comments, "
    "shares, product impressions and clicks, GMV (raw.tiktok_content_daily), rolled up per posting account "
    "(raw.tiktok_content_account_daily). Saves are not offered by the API (NULL).",
)
def tiktok_content_daily(
    context: dg.AssetExecutionContext, tiktok_content: TikTokContentResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, days, warehouse, tiktok_content = ingest_scope(
        context, warehouse, tiktok_content, "tiktok_content"
    )
    counts = {"videos": 0}
    with (
        ingest_errors("tiktok_shop.content", context.run.run_id, warehouse.url()),
        tiktok_content.client() as client,
    ):
        with warehouse.transaction() as conn:
            delete_partitions(conn, VIDEOS_TABLE, days)
            delete_partitions(conn, ACCOUNTS_TABLE, days)
            rows = copy_rows(
                conn, VIDEOS_TABLE, VIDEO_COLUMNS, video_rows(client, days, context.run.run_id, counts)
            )
            accounts = conn.execute(_ACCOUNTS_SQL, {"run_id": context.run.run_id, "days": days}).rowcount
        stats = client.stats
    context.log.info(
        f"{brand.id}: loaded {rows} video-days of {counts['videos']} videos, {accounts} account-days"
    )
    return dg.MaterializeResult(
        metadata=ingest_metadata(
            stats, rows=rows, videos=counts["videos"], account_rows=accounts, days=len(days)
        )
    )
