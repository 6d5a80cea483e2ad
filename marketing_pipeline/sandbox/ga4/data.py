"""GA4 traffic for the sandbox brand, derived from its website orders.

Per property-local day: one fact per (source, medium, campaign, landing page). Purchases and
revenue are exactly the day's website orders grouped by their UTM source/medium/campaign;
sessions, users and funnel events are drawn around them from a per-day random stream. A
long tail of referral sites and deep links comes and goes, so busy days have more distinct
rows than GA4 keeps and show ``(other)``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sandbox.world import World

CONVERSION = {
    "cpc": 0.035,
    "email": 0.05,
    "social": 0.02,
    "(none)": 0.045,
    "organic": 0.025,
    "referral": 0.015,
}
BROWSE_ONLY = [
    ("google", "organic", "(organic)", 180),
    ("bing", "organic", "(organic)", 25),
    ("facebook.com", "referral", "(referral)", 30),
    ("pinterest", "social", "evergreen", 20),
]


@dataclass
class Fact:
    source: str
    medium: str
    campaign: str
    landing_page: str
    metrics: dict = field(default_factory=dict)

    def key(self, dims: list[str]) -> tuple:
        names = {
            "sessionSource": self.source,
            "sessionMedium": self.medium,
            "sessionCampaignName": self.campaign,
            "landingPage": self.landing_page,
        }
        return tuple(names[d] for d in dims)


def _pages(world: World) -> list[str]:
    slugs = sorted({p.name.lower().replace(" ", "-") for p in world.products})
    cats = sorted({p.category.lower() for p in world.products})
    return [
        "/",
        *(f"/products/{s}" for s in slugs),
        *(f"/collections/{c}" for c in cats),
        "/blogs/journal/routine",
    ]


def _split(total: int, weights: list[float]) -> list[int]:
    whole = sum(weights)
    parts = [int(total * w / whole) for w in weights]
    parts[0] += total - sum(parts)
    return parts


def day_facts(world: World, day: date, tz: ZoneInfo) -> list[Fact]:
    rng = random.Random(f"{world.seed}:ga4:{day.isoformat()}")
    groups: dict[tuple, list] = defaultdict(list)
    for o in world.orders_between(*day_bounds(day, tz)):
        if o.channel != "website":
            continue
        utm = o.utm or {}
        source = utm.get("utm_source", "(direct)")
        medium = utm.get("utm_medium", "(none)")
        campaign = utm.get("utm_campaign", "(direct)" if source == "(direct)" else "(not set)")
        groups[(source, medium, campaign)].append(o)
    for source, medium, campaign, _ in BROWSE_ONLY:
        groups.setdefault((source, medium, campaign), [])
    tail = rng.randint(4, 70)  # referral long tail: some days exceed what GA4 keeps per day
    for n in rng.sample(range(400), tail):
        groups.setdefault((f"blog{n}.example.com", "referral", "(referral)"), [])
    pages = _pages(world)
    facts: list[Fact] = []
    for (source, medium, campaign), orders in sorted(groups.items()):
        base = next((b for s, m, c, b in BROWSE_ONLY if (s, m, c) == (source, medium, campaign)), 3)
        purchases = len(orders)
        sessions = max(
            purchases,
            int(purchases / CONVERSION.get(medium, 0.02) * rng.uniform(0.8, 1.2))
            + rng.randint(base // 2, base),
        )
        landing = rng.sample(pages, k=min(len(pages), rng.randint(1, 4)))
        if medium == "referral" and rng.random() < 0.5:
            landing = [f"{landing[0]}?ref={source.split('.')[0]}"]
        weights = [rng.uniform(0.5, 3.0) for _ in landing]
        per_page_orders: dict[str, list] = defaultdict(list)
        for o in orders:
            per_page_orders[rng.choices(landing, weights)[0]].append(o)
        for page, page_sessions in zip(landing, _split(sessions, weights), strict=True):
            page_orders = per_page_orders.get(page, [])
            bought = len(page_orders)
            page_sessions = max(page_sessions, bought)
            if page_sessions == 0:
                continue
            users = max(1, round(page_sessions * rng.uniform(0.78, 0.92)))
            carts = max(bought, round(page_sessions * rng.uniform(0.05, 0.1)))
            facts.append(
                Fact(
                    source,
                    medium,
                    campaign,
                    page,
                    {
                        "sessions": page_sessions,
                        "totalUsers": users,
                        "newUsers": round(users * rng.uniform(0.45, 0.7)),
                        "engagedSessions": round(page_sessions * rng.uniform(0.55, 0.72)),
                        "keyEvents": bought + round(page_sessions * 0.01),
                        "addToCarts": carts,
                        "checkouts": max(bought, round(carts * rng.uniform(0.35, 0.55))),
                        "ecommercePurchases": bought,
                        "purchaseRevenue": sum((o.total for o in page_orders), Decimal("0")),
                    },
                )
            )
    return facts
