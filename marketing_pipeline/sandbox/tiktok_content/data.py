"""Shoppable videos for the sandbox brand: who posted what, and each video's day by day numbers.

Videos are posted per UTC day from a per-day random stream and stay active for 30 days with
views decaying from a peak. Engagement and product clicks follow the views. Sales are the
brand's real TikTok Shop orders of the day: about half are credited to an active video,
weighted by its views, so video GMV never exceeds what the shop sold.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sandbox.world import Product, World, _stable_int

ACCOUNTS = [
    ("lumenleaf", "LINKED_ACCOUNTS", 0.35),
    ("lumenleaf.studio", "LINKED_ACCOUNTS", 0.15),
    ("glowwithmaya", "AFFILIATES", 0.2),
    ("skincarebyleo", "AFFILIATES", 0.15),
    ("theoreviews", "AFFILIATES", 0.1),
    ("ivyinspo", "AFFILIATES", 0.05),
]
ACTIVE_DAYS = 30
_HOOKS = ["3 steps to", "Why I switched to", "Honest review:", "GRWM with", "Before/after:", "Restock haul:"]


@dataclass(frozen=True)
class Video:
    video_id: str
    username: str
    account_type: str
    posted_at: datetime
    title: str
    duration: int
    products: tuple[Product, ...]
    peak_views: int


@dataclass
class VideoDay:
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    new_followers: int = 0
    product_impressions: int = 0
    product_clicks: int = 0
    gmv: Decimal = Decimal("0")
    sku_orders: int = 0
    units_sold: int = 0
    customers: int = 0


class VideoWorld:
    def __init__(self, world: World, tz: ZoneInfo):
        self.world, self.tz = world, tz
        self.posted_on = lru_cache(maxsize=256)(self._posted_on)
        self.day = lru_cache(maxsize=64)(self._day)

    def _posted_on(self, day: date) -> tuple[Video, ...]:
        """Videos posted on a UTC day."""
        if day < self.world.start or day > self.world.today:
            return ()
        rng = random.Random(f"{self.world.seed}:tiktok_videos:{day.isoformat()}")
        out = []
        for n in range(rng.choice((0, 1, 1, 2, 2, 3))):
            username, account_type, _ = rng.choices(ACCOUNTS, [w for *_, w in ACCOUNTS])[0]
            products = tuple(rng.sample(self.world.products, k=rng.choice((1, 1, 2))))
            vid = f"73{(day - date(2020, 1, 1)).days:05d}{n:02d}{_stable_int(self.world.seed, 'video', day, n) % 10**10:010d}"
            posted = datetime.combine(day, time.min, tzinfo=UTC) + timedelta(seconds=rng.randrange(86400))
            out.append(
                Video(
                    vid,
                    username,
                    account_type,
                    posted,
                    f"{rng.choice(_HOOKS)} {products[0].name}",
                    rng.randint(12, 90),
                    products,
                    int(rng.lognormvariate(8.3, 0.9) * self.world.scale),
                )
            )
        return tuple(out)

    def active_on(self, day: date) -> list[Video]:
        """Videos that can have views on a shop-local day."""
        start, end = day_bounds(day, self.tz)
        first = start.astimezone(UTC).date() - timedelta(days=ACTIVE_DAYS)
        out = []
        d = first
        while d <= end.astimezone(UTC).date():
            out.extend(v for v in self.posted_on(d) if v.posted_at < end)
            d += timedelta(days=1)
        return out

    def _day(self, day: date) -> dict[str, VideoDay]:
        """Every active video's numbers on a shop-local day."""
        start, end = day_bounds(day, self.tz)
        stats: dict[str, VideoDay] = {}
        for v in self.active_on(day):
            age = (start - v.posted_at).total_seconds() / 86400
            if age >= ACTIVE_DAYS:
                continue
            rng = random.Random(f"{self.world.seed}:tiktok_video_day:{v.video_id}:{day.isoformat()}")
            share = max(0.0, min(1.0, (end - v.posted_at).total_seconds() / 86400)) if age < 0 else 1.0
            views = int(v.peak_views * math.exp(-max(age, 0) / 3.5) * share * rng.uniform(0.8, 1.2))
            if views <= 0:
                continue
            impressions = int(views * rng.uniform(0.3, 0.5))
            stats[v.video_id] = VideoDay(
                views=views,
                likes=int(views * rng.uniform(0.04, 0.09)),
                comments=int(views * rng.uniform(0.003, 0.008)),
                shares=int(views * rng.uniform(0.005, 0.012)),
                new_followers=int(views * rng.uniform(0.001, 0.003)),
                product_impressions=impressions,
                product_clicks=int(impressions * rng.uniform(0.05, 0.12)),
            )
        if stats:
            ids = sorted(stats)
            weights = [stats[i].views for i in ids]
            rng = random.Random(f"{self.world.seed}:tiktok_video_sales:{day.isoformat()}")
            buyers: dict[str, set] = {i: set() for i in ids}
            for o in self.world.orders_between(start, end):
                if o.channel != "tiktok_shop" or o.status == "CANCELLED" or rng.random() >= 0.5:
                    continue
                vid = rng.choices(ids, weights)[0]
                s = stats[vid]
                s.gmv += o.total
                s.sku_orders += 1
                s.units_sold += sum(ln.quantity for ln in o.lines)
                buyers[vid].add(o.customer.customer_id)
            for vid, who in buyers.items():
                stats[vid].customers = len(who)
        return stats

    def video(self, video_id: str) -> Video | None:
        """Find a video by id (its posting day is encoded in it)."""
        if not (video_id.startswith("73") and len(video_id) == 19 and video_id.isdigit()):
            return None
        day = date(2020, 1, 1) + timedelta(days=int(video_id[2:7]))
        return next((v for v in self.posted_on(day) if v.video_id == video_id), None)
