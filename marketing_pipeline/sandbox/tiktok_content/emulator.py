"""A local TikTok Shop Analytics API for shoppable videos, mounted at ``/tiktok-shop-content``.

Same signing, token and shop-cipher checks and error envelopes as the orders emulator (it
extends it); the paths and fields are those described in ``api.py`` (confirmed vs assumed).
Invalid parameters answer 36009003 (assumed, as for orders); an unknown video 36009004 (assumed).
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from decimal import Decimal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from marketing_pipeline.sandbox.tiktok_content.data import Video, VideoDay, VideoWorld
from marketing_pipeline.sandbox.tiktok_shop.emulator import TikTokShopEmulator, envelope
from marketing_pipeline.sandbox.world import World

SORT_FIELDS = {"gmv", "sku_orders", "units_sold", "views", "click_through_rate"}
ACCOUNT_TYPES = {"ALL", "LINKED_ACCOUNTS", "AFFILIATES"}
MAX_RANGE_DAYS = 90


def _ctr(clicks: int, views: int) -> str:
    return f"{clicks / views:.4f}" if views else "0"


def _money(amount, currency: str = "USD") -> dict:
    return {"amount": format(amount, "f"), "currency": currency}


class TikTokContentEmulator(TikTokShopEmulator):
    def __init__(self, world: World):
        super().__init__(world)
        self._videos: VideoWorld | None = None

    @property
    def videos(self) -> VideoWorld:
        if self._videos is None:  # the shop's time zone is the brand's
            self._videos = VideoWorld(self.world, self.world.tz)
        return self._videos

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/authorization/202309/shops", self.shops, methods=["GET"]),
                Route("/analytics/202409/shop_videos/performance", self.video_list, methods=["GET"]),
                Route(
                    "/analytics/202509/shop_videos/{video_id}/performance", self.video_detail, methods=["GET"]
                ),
            ]
        )

    def _window(self, q) -> tuple[date, date] | JSONResponse:
        try:
            first, end = (
                date.fromisoformat(q.get("start_date_ge", "")),
                date.fromisoformat(q.get("end_date_lt", "")),
            )
        except ValueError:
            return envelope(
                36009003,
                "Invalid request: start_date_ge and end_date_lt (YYYY-MM-DD) are required",
                status=400,
            )
        if end <= first or (end - first).days > MAX_RANGE_DAYS:
            return envelope(
                36009003,
                "Invalid request: end_date_lt must be after start_date_ge, within 90 days",
                status=400,
            )
        return first, end - timedelta(days=1)

    def _latest(self) -> date:
        return datetime.now(self.world.tz).date() - timedelta(days=1)

    def _range(self, first: date, last: date) -> dict[str, list[tuple[date, VideoDay]]]:
        out: dict[str, list[tuple[date, VideoDay]]] = {}
        day = first
        while day <= min(last, self._latest()):
            for vid, stats in self.videos.day(day).items():
                out.setdefault(vid, []).append((day, stats))
            day += timedelta(days=1)
        return out

    async def video_list(self, request: Request) -> JSONResponse:
        _, err = await self._check(request)
        if err:
            return err
        q = request.query_params
        window = self._window(q)
        if isinstance(window, JSONResponse):
            return window
        try:
            page_size = int(q.get("page_size", "10"))
        except ValueError:
            page_size = 0
        sort_field, account_type = q.get("sort_field", "gmv"), q.get("account_type", "ALL")
        if not 1 <= page_size <= 100 or sort_field not in SORT_FIELDS or account_type not in ACCOUNT_TYPES:
            return envelope(
                36009003,
                "Invalid request: page_size 1..100, sort_field and account_type must be valid",
                status=400,
            )
        rows = []
        for vid, days in self._range(*window).items():
            video = self.videos.video(vid)
            if account_type != "ALL" and video.account_type != account_type:
                continue
            rows.append(self._summary(video, days))
        key = {
            "gmv": lambda r: float(r["gmv"]["amount"]),
            "click_through_rate": lambda r: float(r[sort_field]),
        }.get(sort_field, lambda r: r[sort_field])
        rows.sort(key=lambda r: (key(r), r["id"]), reverse=q.get("sort_order", "DESC") == "DESC")
        offset = 0
        if q.get("page_token"):
            try:
                offset = int(base64.urlsafe_b64decode(q["page_token"].encode()).decode().split(":")[1])
            except (ValueError, IndexError):
                return envelope(36009003, "Invalid request: page_token is invalid", status=400)
        nxt = offset + page_size
        token = base64.urlsafe_b64encode(f"v1:{nxt}".encode()).decode() if nxt < len(rows) else ""
        return envelope(
            0,
            "Success",
            {
                "videos": rows[offset:nxt],
                "next_page_token": token,
                "total_count": len(rows),
                "latest_available_date": self._latest().isoformat(),
            },
        )

    @staticmethod
    def _summary(video: Video, days: list[tuple[date, VideoDay]]) -> dict:
        views = sum(s.views for _, s in days)
        clicks = sum(s.product_clicks for _, s in days)
        return {
            "id": video.video_id,
            "title": video.title,
            "username": video.username,
            "video_post_time": video.posted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": video.duration,
            "views": views,
            "click_through_rate": _ctr(clicks, views),
            "gmv": _money(sum((s.gmv for _, s in days), start=Decimal(0))),
            "sku_orders": sum(s.sku_orders for _, s in days),
            "units_sold": sum(s.units_sold for _, s in days),
            "products": [{"id": p.product_id, "name": p.name} for p in video.products],
        }

    async def video_detail(self, request: Request) -> JSONResponse:
        _, err = await self._check(request)
        if err:
            return err
        q = request.query_params
        window = self._window(q)
        if isinstance(window, JSONResponse):
            return window
        video = self.videos.video(request.path_params["video_id"])
        if video is None:
            return envelope(36009004, "Invalid request: video not found for this shop", status=404)
        granularity = q.get("granularity", "ALL")
        if granularity not in ("ALL", "1D"):
            return envelope(36009003, "Invalid request: granularity must be ALL or 1D", status=400)
        days = self._range(*window).get(video.video_id, [])
        if granularity == "ALL" and days:
            groups = [(window[0], window[1] + timedelta(days=1), [s for _, s in days])]
        else:
            groups = [(d, d + timedelta(days=1), [s]) for d, s in days]
        lifetime = self._range(video.posted_at.date(), self._latest()).get(video.video_id, [])
        return envelope(
            0,
            "Success",
            {
                "latest_available_date": self._latest().isoformat(),
                "engagement_data": {
                    "total_views": sum(s.views for _, s in lifetime),
                    "total_likes": sum(s.likes for _, s in lifetime),
                    "total_comments": sum(s.comments for _, s in lifetime),
                    "total_shares": sum(s.shares for _, s in lifetime),
                },
                "performance": {
                    "video_post_time": video.posted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "intervals": [self._interval(a, b, stats) for a, b, stats in groups],
                },
            },
        )

    @staticmethod
    def _interval(start: date, end: date, stats: list[VideoDay]) -> dict:
        total = lambda name: sum(getattr(s, name) for s in stats)  # noqa: E731
        views, clicks, gmv = (
            total("views"),
            total("product_clicks"),
            sum((s.gmv for s in stats), start=Decimal(0)),
        )
        days = max(1, (end - start).days)
        return {
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "views": views,
            "click_through_rate": _ctr(clicks, views),
            "gmv": _money(gmv),
            "daily_avg_buyers": f"{total('customers') / days:.2f}",
            "traffic": {
                "views": views,
                "likes": total("likes"),
                "comments": total("comments"),
                "shares": total("shares"),
                "new_followers": total("new_followers"),
            },
            "sales": {
                "overall": {
                    "gmv": _money(gmv),
                    "items_sold": total("units_sold"),
                    "customers": total("customers"),
                    "product_impressions": total("product_impressions"),
                    "product_clicks": clicks,
                    "ctr": _ctr(clicks, views),
                }
            },
        }
