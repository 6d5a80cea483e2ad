"""The sandbox brand as Klaviyo sees it: profiles, lists, segments, campaigns, flows and events.

Everything derives from the ``World`` (customers, website and TikTok Shop orders) plus seeded
email engagement. Events are generated one UTC hour at a time from their own random stream,
so any hour can be produced alone, always the same, and a very large day is never held in
memory at once. An hour's email engagement (received, then opened, clicked...) happens
within that hour, which keeps hours independent of each other.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property

from marketing_pipeline.sandbox.world import Customer, Order, World
from marketing_pipeline.sources.klaviyo.streams import METRICS

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32, as in Klaviyo's ULIDs
METRIC_NAMES = METRICS  # the brand emits exactly the metrics the pipeline reads
_SHOP_METRICS = {
    "Placed Order",
    "Ordered Product",
    "Started Checkout",
    "Refunded Order",
    "Cancelled Order",
    "Active on Site",
    "Viewed Product",
}
_THEMES = [
    "New arrivals",
    "Weekend glow edit",
    "Skin school",
    "Bestsellers are back",
    "Last chance",
    "Member early access",
    "Self-care Sunday",
    "Routine builder",
]


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(map(str, parts)).encode()).digest()


_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET)


def ulid(*parts: object) -> str:
    """A stable 26-character id shaped like Klaviyo's ULIDs."""
    return "01" + base64.b32encode(_digest(*parts)[:15]).decode().translate(_TO_CROCKFORD)


def short_id(*parts: object) -> str:
    """A stable 6-character id like Klaviyo's metric and list ids."""
    letters = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    n = int.from_bytes(_digest(*parts)[:8], "big")
    return "".join(letters[(n >> (6 * i)) % len(letters)] for i in range(6))


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Campaign:
    id: str
    message_id: str
    name: str
    subject: str
    created_at: datetime
    send_time: datetime | None  # None: a draft
    status: str
    list_id: str


@dataclass(frozen=True)
class Flow:
    id: str
    name: str
    trigger_type: str
    status: str
    created: datetime
    actions: tuple[tuple[str, str, str | None], ...]  # (action id, action type, message id or None)


@dataclass(frozen=True)
class Ev:
    """One event, compact; the emulator renders it as JSON:API only when a page is served."""

    id: str
    metric: str
    at: datetime
    profile_id: str
    props: dict


class KlaviyoData:
    def __init__(self, world: World):
        self.world = world
        self.seed = world.seed

    # -- reference data ---------------------------------------------------------------
    @cached_property
    def metrics(self) -> dict[str, str]:
        """Metric name -> id."""
        return {name: short_id(self.seed, "metric", name) for name in METRIC_NAMES}

    @cached_property
    def metric_names(self) -> dict[str, str]:
        return {v: k for k, v in self.metrics.items()}

    @cached_property
    def epoch(self) -> datetime:
        return datetime.combine(self.world.start, time(9), tzinfo=UTC)

    @cached_property
    def lists(self) -> list[dict]:
        subscribed = sum(1 for c in self.world.customers if c.accepts_marketing)
        return [
            {
                "id": short_id(self.seed, "list", "newsletter"),
                "name": "Newsletter",
                "opt_in": "single_opt_in",
                "count": subscribed,
            },
            {
                "id": short_id(self.seed, "list", "vip"),
                "name": "VIP Early Access",
                "opt_in": "double_opt_in",
                "count": subscribed // 9,
            },
            {
                "id": short_id(self.seed, "list", "sms"),
                "name": "SMS Subscribers",
                "opt_in": "single_opt_in",
                "count": subscribed // 4,
            },
        ] + [
            {
                "id": short_id(self.seed, "list", f"popup-{i}"),
                "name": f"Pop-up form {i + 1}",
                "opt_in": "single_opt_in",
                "count": subscribed // (5 + i),
            }
            # 11 lists and 4 segments: their 15 profile_count reads fit one minute of the 15/min tier
            for i in range(8)
        ]

    @cached_property
    def segments(self) -> list[dict]:
        n = len(self.world.customers)
        # few segments: each profile_count read costs a call at 1/s, 15/min
        names = [
            ("Engaged 30 days", 0.31),
            ("Repeat purchasers", 0.18),
            ("Lapsed 120 days", 0.22),
            ("High value (top 10%)", 0.10),
        ]
        return [
            {"id": short_id(self.seed, "segment", name), "name": name, "count": int(n * share)}
            for name, share in names
        ]

    @cached_property
    def flows(self) -> list[Flow]:
        specs = [
            ("Welcome Series", "Added to List", "live", 3),
            ("Abandoned Checkout", "Metric", "live", 3),  # run on received events: cart_flow.py
            ("Post-Purchase Thank You", "Metric", "live", 1),
            ("Winback 90 days", "Metric", "manual", 2),
            ("Browse Abandonment", "Metric", "draft", 1),
        ]
        out = []
        for name, trigger, status, emails in specs:
            actions = []
            for i in range(emails):
                if i:
                    actions.append((ulid(self.seed, "flow-action", name, i, "delay"), "TIME_DELAY", None))
                actions.append(
                    (
                        ulid(self.seed, "flow-action", name, i),
                        "SEND_EMAIL",
                        ulid(self.seed, "flow-message", name, i),
                    )
                )
            out.append(Flow(ulid(self.seed, "flow", name), name, trigger, status, self.epoch, tuple(actions)))
        return out

    @cached_property
    def campaigns(self) -> list[Campaign]:
        """About two sends a week over the history, and a few drafts and scheduled ones ahead."""
        out = []
        newsletter = self.lists[0]["id"]
        day = self.world.start
        while day <= self.world.today + timedelta(days=10):
            rng = random.Random(f"{self.seed}:klaviyo-campaign:{day}")
            if day.weekday() in (1, 4) and rng.random() < 0.9:
                theme = _THEMES[rng.randrange(len(_THEMES))]
                send = datetime.combine(day, time(15), tzinfo=UTC)
                cid = ulid(self.seed, "campaign", day)
                status = "Sent" if day < self.world.today else "Scheduled"
                if day > self.world.today + timedelta(days=5):
                    status, send = "Draft", None
                out.append(
                    Campaign(
                        cid,
                        ulid(self.seed, "campaign-message", day),
                        f"{theme} {day:%Y-%m-%d}",
                        f"{theme} at {self.world.brand}",
                        datetime.combine(day - timedelta(days=4), time(11), tzinfo=UTC),
                        send,
                        status,
                        newsletter,
                    )
                )
            day += timedelta(days=1)
        return out

    @cached_property
    def _campaign_by_day(self) -> dict[date, Campaign]:
        return {c.send_time.date(): c for c in self.campaigns if c.send_time and c.status == "Sent"}

    # -- profiles ---------------------------------------------------------------------
    def profile_id(self, customer: Customer) -> str:
        return self._profile_ids[customer.customer_id - 1]

    @cached_property
    def _profile_ids(self) -> list[str]:
        ids = [""] * len(self.world.customers)
        for c in self.world.customers:
            ids[c.customer_id - 1] = ulid(self.seed, "profile", c.customer_id)
        return ids

    def profile_state(self, c: Customer) -> dict:
        """Created, updated, consent and suppression of one customer's profile."""
        rng = random.Random(f"{self.seed}:klaviyo-profile:{c.customer_id}")
        created = datetime.combine(c.signed_up, time(rng.randrange(24), rng.randrange(60)), tzinfo=UTC)
        consent, consent_at, suppression = (
            ("SUBSCRIBED" if c.accepts_marketing else "NEVER_SUBSCRIBED"),
            created,
            [],
        )
        updated = created
        roll = rng.random()
        change = created + timedelta(days=rng.randrange(1, 500), minutes=rng.randrange(1440))
        cutoff = datetime.combine(self.world.today, time.min, tzinfo=UTC)
        if c.accepts_marketing and roll < 0.05 and change < cutoff:
            consent, consent_at, updated = "UNSUBSCRIBED", change, change
        elif roll < 0.065 and change < cutoff:
            suppression = [{"reason": "HARD_BOUNCE", "timestamp": iso(change)}]
            updated = change
        return {
            "created": created,
            "updated": updated,
            "consent": consent,
            "consent_at": consent_at,
            "suppression": suppression,
        }

    @cached_property
    def profiles_by_updated(self) -> list[tuple[datetime, str, Customer]]:
        rows = [(self.profile_state(c)["updated"], self.profile_id(c), c) for c in self.world.customers]
        rows.sort(key=lambda r: (r[0], r[1]))
        return rows

    # -- events, one UTC hour at a time -----------------------------------------------
    def hour_events(self, hour_start: datetime) -> list[Ev]:
        """Every event in [hour_start, hour_start + 1h), sorted by time then id."""
        hour_start = hour_start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        day = hour_start.date()
        if day < self.world.start or day > self.world.today:
            return []
        hour = hour_start.hour
        rng = random.Random(f"{self.seed}:klaviyo-events:{day}:{hour}")
        end = hour_start + timedelta(hours=1)
        out: list[Ev] = []
        orders = [o for o in self.world.orders_on(day) if hour_start <= o.created_at < end]
        customers = self.world.customers
        for o in orders:
            out.extend(self._order_events(o, rng, end))
        # browsing: many more visits and product views than orders; some checkouts never finish
        base = max(1, len(self.world.orders_on(day))) / 24 * (0.6 + 0.8 * rng.random())
        for kind, per_order in (("Active on Site", 10), ("Viewed Product", 6), ("Started Checkout", 1.5)):
            for _ in range(int(base * per_order)):
                c = customers[rng.randrange(len(customers))]
                at = hour_start + timedelta(seconds=rng.randrange(3600))
                p = self.world.products[rng.randrange(len(self.world.products))]
                props = (
                    {"page": f"{self.world.store_url}/products/{p.sku_id}"}
                    if kind == "Active on Site"
                    else {
                        "ProductID": p.product_id,
                        "SKU": p.sku_id,
                        "ProductName": f"{p.name} {p.variant}",
                        "Categories": [p.category],
                        "Brand": p.brand,
                        "Price": float(p.price),
                        "$value": float(p.price),
                    }
                )
                if kind == "Started Checkout":
                    props["$event_id"] = ulid(self.seed, "checkout", day, hour, _)
                out.append(Ev(ulid(self.seed, "ev", kind, day, hour, _), kind, at, self.profile_id(c), props))
        # list sign-ups of the day, spread over its hours
        for c in self._signups(day):
            if c.customer_id % 24 == hour:
                at = hour_start + timedelta(seconds=(c.customer_id * 37) % 3600)
                out.append(
                    Ev(
                        ulid(self.seed, "sub", c.customer_id),
                        "Subscribed to List",
                        at,
                        self.profile_id(c),
                        {"List": "Newsletter", "$list": self.lists[0]["id"]},
                    )
                )
        out.extend(self._email_events(day, hour, hour_start, rng, orders))
        out.sort(key=lambda e: (e.at, e.id))
        return out

    @cached_property
    def _signups_by_day(self) -> dict[date, list[Customer]]:
        out: dict[date, list[Customer]] = {}
        for c in self.world.customers:
            if c.accepts_marketing:
                out.setdefault(c.signed_up, []).append(c)
        return out

    def _signups(self, day: date) -> list[Customer]:
        return self._signups_by_day.get(day, [])

    def _order_events(self, o: Order, rng: random.Random, hour_end: datetime) -> list[Ev]:
        pid = self.profile_id(o.customer)
        items = [
            {
                "ProductID": ln.product.product_id,
                "SKU": ln.product.sku_id,
                "ProductName": f"{ln.product.name} {ln.product.variant}",
                "Quantity": ln.quantity,
                "ItemPrice": float(ln.unit_price),
                "RowTotal": float(ln.total),
                "Discount": float(ln.discount),
                "Categories": [ln.product.category],
                "Brand": ln.product.brand,
                "ImageURL": ln.product.image_url,
            }
            for ln in o.lines
        ]
        props = {
            "$event_id": o.order_id,
            "OrderId": o.order_id,
            "$value": float(o.total),
            "Currency": o.currency,
            "Source": o.channel,
            "Items": items,
            "ItemNames": [i["ProductName"] for i in items],
            "Categories": sorted({c for ln in o.lines for c in [ln.product.category]}),
            "Brands": sorted({ln.product.brand for ln in o.lines}),
            "Subtotal": float(o.subtotal),
            "DiscountCode": o.discount_code,
            "DiscountValue": float(o.discount),
            "Shipping": float(o.shipping),
            "Tax": float(o.tax),
            **o.utm,
        }
        if o.utm.get("utm_source") == "klaviyo":
            camp = self._campaign_by_day.get(o.created_at.date())
            if camp:
                props["$attribution"] = {
                    "$message": camp.message_id,
                    "$campaign": camp.id,
                    "channel": "email",
                }
            else:  # no send that day: the abandoned-checkout flow brought it back
                flow = self.flows[1]
                props["$attribution"] = {"$message": flow.actions[0][2], "$flow": flow.id, "channel": "email"}
        out = [Ev(ulid(self.seed, "po", o.order_id), "Placed Order", o.created_at, pid, props)]
        for ln, item in zip(o.lines, items, strict=True):
            out.append(
                Ev(
                    ulid(self.seed, "op", o.order_id, ln.line_id),
                    "Ordered Product",
                    o.created_at,
                    pid,
                    {
                        **item,
                        "OrderId": o.order_id,
                        "$value": item["RowTotal"],
                        "$event_id": f"{o.order_id}:{ln.line_id}",
                    },
                )
            )
        later = min(hour_end - timedelta(seconds=1), o.created_at + timedelta(minutes=20))
        if o.status == "CANCELLED":
            out.append(
                Ev(
                    ulid(self.seed, "co", o.order_id),
                    "Cancelled Order",
                    later,
                    pid,
                    {"OrderId": o.order_id, "$value": float(o.total), "Reason": "customer"},
                )
            )
        elif int.from_bytes(_digest(self.seed, "refund", o.order_id)[:2], "big") % 50 == 0:
            out.append(
                Ev(
                    ulid(self.seed, "ro", o.order_id),
                    "Refunded Order",
                    later,
                    pid,
                    {"OrderId": o.order_id, "$value": float(o.total)},
                )
            )
        return out

    def _email_events(
        self, day: date, hour: int, hour_start: datetime, rng: random.Random, orders: list[Order]
    ) -> list[Ev]:
        out: list[Ev] = []
        sends: list[tuple[Customer, str, str | None, str, str]] = []  # customer, message, flow, name, subject
        camp = self._campaign_by_day.get(day)
        if camp and camp.send_time and camp.send_time.hour == hour:
            for c in self.world.customers:
                if c.signed_up > day:
                    break  # customers are sorted by sign-up day
                if c.accepts_marketing:
                    sends.append((c, camp.message_id, None, camp.name, camp.subject))
        welcome, checkout, thanks = self.flows[0], self.flows[1], self.flows[2]
        for c in self._signups(day):
            if c.customer_id % 24 == hour:
                sends.append((c, welcome.actions[0][2], welcome.id, welcome.name, "Welcome to the glow club"))
        for o in orders:
            sends.append(
                (o.customer, thanks.actions[0][2], thanks.id, thanks.name, "Thank you for your order")
            )
        customers = self.world.customers
        for _ in range(int(len(orders) * 0.8)):
            c = customers[rng.randrange(len(customers))]
            sends.append((c, checkout.actions[0][2], checkout.id, checkout.name, "You left something behind"))
        for n, (c, message, flow, name, subject) in enumerate(sends):
            pid = self.profile_id(c)
            sent = hour_start + timedelta(seconds=rng.randrange(1800))
            props = {
                "$message": message,
                "Campaign Name": name,
                "Subject": subject,
                "Email Domain": c.email.split("@")[1],
                **({"$flow": flow} if flow else {}),
            }
            key = (message, c.customer_id, day, hour, n)
            out.append(Ev(ulid(self.seed, "rcv", *key), "Received Email", sent, pid, props))
            roll = rng.random()
            if roll < 0.008:
                out.append(
                    Ev(
                        ulid(self.seed, "bnc", *key),
                        "Bounced Email",
                        sent,
                        pid,
                        {**props, "Bounce Type": "hard"},
                    )
                )
                continue
            if roll < 0.40:
                opened = sent + timedelta(seconds=rng.randrange(60, 1700))
                out.append(Ev(ulid(self.seed, "opn", *key), "Opened Email", opened, pid, props))
                if roll < 0.07:
                    out.append(
                        Ev(
                            ulid(self.seed, "clk", *key),
                            "Clicked Email",
                            opened + timedelta(seconds=30),
                            pid,
                            {**props, "URL": f"{self.world.store_url}/?utm_source=klaviyo&utm_medium=email"},
                        )
                    )
                elif roll > 0.397:
                    out.append(
                        Ev(
                            ulid(self.seed, "uns", *key),
                            "Unsubscribed",
                            opened + timedelta(seconds=45),
                            pid,
                            {**props, "List": "Newsletter"},
                        )
                    )
        return out


def money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
