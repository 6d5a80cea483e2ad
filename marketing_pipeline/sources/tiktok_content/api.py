"""TikTok Shop Analytics endpoints for shoppable videos, called through ``TikTokShopClient`` (signed).

What is confirmed and what is assumed (no official OpenAPI file is public):

* ``GET /analytics/202409/shop_videos/performance`` (Get Shop Video Performance List): path, query
  (``start_date_ge`` inclusive and ``end_date_lt`` exclusive, YYYY-MM-DD in the shop's time zone;
  ``page_size`` max 100, default 10; ``page_token``; ``sort_field`` gmv|sku_orders|units_sold|views|
  click_through_rate; ``sort_order``; ``currency`` USD|LOCAL; ``account_type``
  ALL|LINKED_ACCOUNTS|AFFILIATES; ``shop_cipher``) and response (``videos[]`` with ``id``, ``title``,
  ``username``, ``video_post_time``, ``views``, ``click_through_rate`` (string), ``gmv{amount,currency}``,
  ``sku_orders``, ``units_sold``, ``products[{id,name}]``; ``next_page_token``, ``total_count``,
  ``latest_available_date``) are as listed on the Partner Center page
  get-shop-video-performance-list-202409 (read through a public digest of those pages).
* ``GET /analytics/202509/shop_videos/{video_id}/performance`` (Get Shop Video Performance Details):
  the path and ``granularity`` (ALL|1D) with ``performance.intervals[]`` (``start_date``,
  ``end_date``, ``views``, ``click_through_rate``, ``gmv``) and ``engagement_data`` (lifetime
  ``total_views/likes/comments/shares``) are documented for 202409. The per-interval
  ``traffic{views, likes, comments, shares, new_followers}`` and ``sales.overall{gmv, items_sold,
  customers, product_impressions, product_clicks, ctr}`` objects of version 202509 are ASSUMED
  from public client code that reports reading them from the live API; they are not in any
  official page we could read.
* Saves: no public document or client names a saves metric for shop videos; ``saves`` is stored
  as NULL unless an interval carries ``traffic.saves`` (an assumed name).
* Product clicks come from ``sales.overall.product_clicks``; when absent they are derived as
  ``round(views * click_through_rate)`` (the documented definition of the ratio).
* Error codes and rate limits for these endpoints: not found; the shared TikTok client's
  envelope handling, retries and pacing apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from marketing_pipeline.http import cursor_pages
from marketing_pipeline.sources.tiktok_content.models import (
    VideoDetail,
    VideoSummary,
    parse_detail,
    parse_summary,
)
from marketing_pipeline.sources.tiktok_shop.client import TikTokShopClient

LIST_PATH = "/analytics/202409/shop_videos/performance"
DETAIL_PATH = "/analytics/202509/shop_videos/{video_id}/performance"
MAX_PAGE_SIZE = 100


def _window(first: date, last: date) -> dict:
    return {
        "start_date_ge": first.isoformat(),
        "end_date_lt": (last + timedelta(days=1)).isoformat(),
        "currency": "LOCAL",
    }


def list_videos(
    client: TikTokShopClient,
    first: date,
    last: date,
    *,
    page_size: int = MAX_PAGE_SIZE,
    account_type: str = "ALL",
) -> Iterator[list[VideoSummary]]:
    """Pages of videos with activity on days ``first..last`` (shop time zone), by GMV."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")

    def fetch(token: str | None) -> tuple[list[VideoSummary], str | None]:
        params = {
            **_window(first, last),
            "page_size": page_size,
            "sort_field": "gmv",
            "sort_order": "DESC",
            "account_type": account_type,
        }
        if token:
            params["page_token"] = token
        data = client.call("GET", LIST_PATH, params=params)
        return [parse_summary(v) for v in data.get("videos") or []], data.get("next_page_token")

    return cursor_pages(fetch, client.stats, client.vendor)


def video_detail(client: TikTokShopClient, video_id: str, first: date, last: date) -> VideoDetail:
    """Daily intervals (granularity 1D) of one video over ``first..last``."""
    data = client.call(
        "GET", DETAIL_PATH.format(video_id=video_id), params={**_window(first, last), "granularity": "1D"}
    )
    return parse_detail(video_id, data)
