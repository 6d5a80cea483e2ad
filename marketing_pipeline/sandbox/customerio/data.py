"""The sandbox brand's Customer.io workspace: campaigns, newsletters, broadcasts and deliveries.

Derived from the sandbox ``World``: deliveries go to its customers (welcome mails on sign-up,
post-purchase mails after orders, a weekly newsletter, two API-triggered broadcasts), one UTC
day at a time from a seeded stream, so every day comes out the same on every call.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from marketing_pipeline.sandbox.customerio import cart_flow
from marketing_pipeline.sandbox.world import Customer, World
from marketing_pipeline.sources.customerio.models import DAILY_METRICS

CAMPAIGNS = [  # id, name, action id, subject
    (11, "Welcome series", 101, "Welcome to Lumen & Leaf"),
    (12, "Post-purchase thank you", 102, "Thanks for your order"),
    (13, "Win-back", 103, "We miss you: 10% off"),
]
BROADCASTS = [(21, "Restock alert", 201, "Back in stock"), (22, "Flash sale", 202, "24 hours only")]
NEWSLETTER_WEEKDAY = 1  # Tuesdays
FIRST_NEWSLETTER_ID = 1000


@dataclass(frozen=True)
class SandboxDelivery:
    id: str
    customer: Customer
    created: int
    subject: str
    metrics: dict[str, int] = field(hash=False, compare=False)
    campaign_id: int | None = None
    newsletter_id: int | None = None
    broadcast_id: int | None = None
    action_id: int | None = None

    def json(self) -> dict:
        c = self.customer
        return {
            "id": self.id,
            "deduplicate_id": f"{self.id}:{max(self.metrics.values())}",
            "customer_id": str(c.customer_id),
            "customer_identifiers": {
                "email": c.email,
                "id": str(c.customer_id),
                "cio_id": f"{c.customer_id:08x}",
            },
            "recipient": c.email,
            "subject": self.subject,
            "metrics": dict(self.metrics),
            "created": self.created,
            "failure_message": None,
            "campaign_id": self.campaign_id,
            "newsletter_id": self.newsletter_id,
            "broadcast_id": self.broadcast_id,
            "action_id": self.action_id or 0,
            "content_id": 0,
            "trigger_event_id": None,
            "type": "email",
            "forgotten": False,
        }


def _outcome(rng: random.Random, created: int) -> dict[str, int]:
    """Metric -> Unix time, as a real delivery accumulates them."""
    t = created + rng.randint(1, 60)
    m = {"created": created, "sent": t}
    roll = rng.random()
    if roll < 0.02:
        m["bounced"] = t + rng.randint(5, 300)
        return m
    m["delivered"] = t + rng.randint(1, 30)
    if roll < 0.025:
        m["spammed"] = m["delivered"] + rng.randint(60, 7200)
        return m
    if rng.random() < 0.42:
        m["opened"] = m["delivered"] + rng.randint(60, 20000)
        if rng.random() < 0.03:
            m["unsubscribed"] = m["opened"] + rng.randint(5, 600)
            return m
        if rng.random() < 0.22:
            m["clicked"] = m["opened"] + rng.randint(5, 900)
            if rng.random() < 0.25:
                m["converted"] = m["clicked"] + rng.randint(60, 3600)
    return m


def _delivery_id(seed: int, day: date, n: int) -> str:
    return hashlib.sha256(f"{seed}:cio:{day}:{n}".encode()).hexdigest()[:20]


class CustomerIoWorkspace:
    def __init__(self, world: World):
        self.world = world
        self._day = lru_cache(maxsize=128)(self._generate)

    # -- catalog -----------------------------------------------------------------------
    def _epoch(self) -> int:
        return int(datetime.combine(self.world.start, time(9), tzinfo=UTC).timestamp())

    def campaigns(self) -> list[dict]:
        return [
            {
                "id": cid,
                "deduplicate_id": f"{cid}:{self._epoch()}",
                "name": name,
                "type": "segment",
                "created": self._epoch(),
                "updated": self._epoch(),
                "active": True,
                "state": "running",
                "actions": [{"type": "email", "id": aid}],
                "first_started": self._epoch(),
                "tags": ["sandbox"],
            }
            for cid, name, aid, _ in CAMPAIGNS
        ] + [cart_flow.campaign(self._epoch())]

    def broadcasts(self) -> list[dict]:
        return [
            {
                "id": bid,
                "deduplicate_id": f"{bid}:{self._epoch()}",
                "name": name,
                "type": "triggered_broadcast",
                "created": self._epoch(),
                "updated": self._epoch(),
                "active": True,
                "state": "running",
                "actions": [{"id": aid, "type": "email"}],
                "first_started": self._epoch(),
                "tags": ["sandbox"],
            }
            for bid, name, aid, _ in BROADCASTS
        ]

    def newsletter_days(self) -> list[date]:
        day = self.world.start + timedelta(days=(NEWSLETTER_WEEKDAY - self.world.start.weekday()) % 7)
        out = []
        while day <= self.world.today:
            out.append(day)
            day += timedelta(days=7)
        return out

    def newsletter_id(self, day: date) -> int:
        return FIRST_NEWSLETTER_ID + (day - self.world.start).days

    def newsletters(self) -> list[dict]:
        out = []
        for day in self.newsletter_days():
            sent = int(datetime.combine(day, time(15), tzinfo=UTC).timestamp())
            nid = self.newsletter_id(day)
            out.append(
                {
                    "id": nid,
                    "deduplicate_id": f"{nid}:{sent}",
                    "content_ids": [nid * 10],
                    "name": f"Weekly glow notes {day.isoformat()}",
                    "sent_at": sent,
                    "created": sent - 86400,
                    "updated": sent,
                    "type": "email",
                    "tags": ["newsletter"],
                    "recipient_segment_ids": [1],
                }
            )
        return out

    # -- deliveries --------------------------------------------------------------------
    def deliveries_on(self, day: date) -> list[SandboxDelivery]:
        """Every delivery created on this UTC day, oldest first."""
        if day < self.world.start or day > self.world.today:
            return []
        return self._day(day)

    def deliveries_between(self, start: datetime, end: datetime) -> list[SandboxDelivery]:
        lo, hi = int(start.timestamp()), int(end.timestamp())
        out = []
        day = start.astimezone(UTC).date()
        while day <= end.astimezone(UTC).date():
            out.extend(d for d in self.deliveries_on(day) if lo <= d.created < hi)
            day += timedelta(days=1)
        return out

    def _generate(self, day: date) -> list[SandboxDelivery]:
        w = self.world
        rng = random.Random(f"{w.seed}:customerio:deliveries:{day.isoformat()}")
        base = int(datetime.combine(day, time.min, tzinfo=UTC).timestamp())
        sends: list[tuple[int, Customer, str, dict]] = []
        signups = w._signup_days  # customers are sorted by sign-up day
        for c in w.customers[bisect.bisect_left(signups, day) : bisect.bisect_right(signups, day)]:
            sends.append(
                (base + rng.randint(3600, 80000), c, CAMPAIGNS[0][3], {"campaign_id": 11, "action_id": 101})
            )
        for o in w.orders_on(day):
            sends.append(
                (
                    int(o.created_at.timestamp()) + rng.randint(60, 900),
                    o.customer,
                    CAMPAIGNS[1][3],
                    {"campaign_id": 12, "action_id": 102},
                )
            )
        audience = [c for c in w.customers[: bisect.bisect_left(signups, day)] if c.accepts_marketing]
        if audience and rng.random() < 0.3:
            for c in rng.sample(audience, min(len(audience), max(3, int(25 * w.scale)))):
                sends.append(
                    (
                        base + rng.randint(36000, 72000),
                        c,
                        CAMPAIGNS[2][3],
                        {"campaign_id": 13, "action_id": 103},
                    )
                )
        if audience and day.weekday() == NEWSLETTER_WEEKDAY:
            nid = self.newsletter_id(day)
            for c in rng.sample(audience, min(len(audience), max(5, int(120 * w.scale)))):
                sends.append(
                    (
                        base + 15 * 3600 + rng.randint(0, 1800),
                        c,
                        f"Weekly glow notes {day:%b %d}",
                        {"newsletter_id": nid},
                    )
                )
        if audience and day.day in (1, 15):
            bid, _, aid, subject = BROADCASTS[0 if day.day == 1 else 1]
            for c in rng.sample(audience, min(len(audience), max(3, int(40 * w.scale)))):
                sends.append(
                    (
                        base + 12 * 3600 + rng.randint(0, 600),
                        c,
                        subject,
                        {"broadcast_id": bid, "action_id": aid},
                    )
                )
        sends.sort(key=lambda s: (s[0], s[1].customer_id))
        return [
            SandboxDelivery(_delivery_id(w.seed, day, n), c, created, subject, _outcome(rng, created), **ids)
            for n, (created, c, subject, ids) in enumerate(sends)
            if created < base + 86400
        ]

    # -- metrics consistent with the deliveries ---------------------------------------------
    def daily_counts(self, key: str, object_id: int, days: list[tuple[int, int]]) -> dict[str, list[int]]:
        """Per [lo, hi) window: how many deliveries of the object reached each metric (by creation time)."""
        series = {m: [0] * len(days) for m in DAILY_METRICS}
        if not days:
            return series
        start = datetime.fromtimestamp(days[0][0], UTC)
        end = datetime.fromtimestamp(days[-1][1], UTC)
        for d in self.deliveries_between(start, end):
            if getattr(d, key) != object_id:
                continue
            for i, (lo, hi) in enumerate(days):
                if lo <= d.created < hi:
                    for m in DAILY_METRICS:
                        if m in d.metrics:
                            series[m][i] += 1
                    break
        return series
