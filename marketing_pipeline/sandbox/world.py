"""One believable, deterministic brand: products, customers, and orders on two channels.

Everything derives from ``seed`` and ``scale``. Orders are generated a UTC day at a time from
a per-day random stream, so any day can be produced on its own (the emulators page through
two years without holding them in memory) and always comes out the same. ``today`` pins the
state of recent orders (shipped, delivered) so tests are reproducible.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from marketing_pipeline import settings

CENTS = Decimal("0.01")

_FIRST = [
    "Ava",
    "Mia",
    "Noah",
    "Liam",
    "Emma",
    "Olivia",
    "Zoe",
    "Leo",
    "Ivy",
    "Maya",
    "Ethan",
    "Lucas",
    "Chloe",
    "Aria",
    "Nora",
    "Eli",
    "Ruby",
    "Jade",
    "Owen",
    "Ella",
    "Sam",
    "Kai",
    "Iris",
    "Theo",
]
_LAST = [
    "Smith",
    "Garcia",
    "Chen",
    "Patel",
    "Johnson",
    "Lee",
    "Brown",
    "Nguyen",
    "Martin",
    "Lopez",
    "Kim",
    "Davis",
    "Walker",
    "Young",
    "Hall",
    "Rivera",
    "Scott",
    "Green",
    "Baker",
    "Adams",
]
_STATES = [
    ("CA", "Los Angeles"),
    ("NY", "New York"),
    ("TX", "Austin"),
    ("FL", "Miami"),
    ("WA", "Seattle"),
    ("IL", "Chicago"),
    ("GA", "Atlanta"),
    ("CO", "Denver"),
    ("MA", "Boston"),
    ("AZ", "Phoenix"),
]
_CATALOG = [  # (category, product line, base price, variants)
    ("Skincare", "Glow Serum", "34.00", ["30 ml", "50 ml"]),
    ("Skincare", "Barrier Cream", "28.00", ["50 ml"]),
    ("Skincare", "Daily SPF 50", "24.00", ["40 ml", "75 ml"]),
    ("Skincare", "Overnight Mask", "38.00", ["60 ml"]),
    ("Body", "Body Oil", "32.00", ["Rose", "Neroli", "Unscented"]),
    ("Body", "Sugar Scrub", "22.00", ["Vanilla", "Citrus"]),
    ("Hair", "Scalp Tonic", "26.00", ["100 ml"]),
    ("Hair", "Repair Mask", "30.00", ["200 ml"]),
    ("Makeup", "Tinted Balm", "18.00", ["Berry", "Nude", "Coral"]),
    ("Makeup", "Brow Gel", "16.00", ["Clear", "Brown"]),
    ("Sets", "Starter Kit", "59.00", ["Travel"]),
    ("Sets", "Holiday Box", "89.00", ["Limited"]),
]
_SOURCES = [
    ("tiktok", "social", 0.30),
    ("google", "cpc", 0.20),
    ("klaviyo", "email", 0.17),
    ("customerio", "email", 0.05),
    ("instagram", "social", 0.10),
    ("(direct)", "(none)", 0.18),
]
_CAMPAIGNS = ["spring_launch", "summer_glow", "bfcm", "holiday_gifts", "new_year_reset", "evergreen"]


@dataclass(frozen=True)
class Product:
    product_id: str
    sku_id: str
    name: str
    variant: str
    category: str
    brand: str
    price: Decimal
    image_url: str


@dataclass(frozen=True)
class Customer:
    customer_id: int
    email: str
    phone: str
    first_name: str
    last_name: str
    tiktok_user_id: str
    signed_up: date
    accepts_marketing: bool
    city: str
    region: str


@dataclass(frozen=True)
class OrderLine:
    line_id: str
    product: Product
    quantity: int
    unit_price: Decimal
    discount: Decimal

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount


@dataclass(frozen=True)
class Order:
    order_id: str
    channel: str
    customer: Customer
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    status: str
    lines: tuple[OrderLine, ...]
    shipping: Decimal
    tax: Decimal
    currency: str = "USD"
    utm: dict = field(default_factory=dict)
    discount_code: str | None = None

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.unit_price * ln.quantity for ln in self.lines), Decimal("0"))

    @property
    def discount(self) -> Decimal:
        return sum((ln.discount for ln in self.lines), Decimal("0"))

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.shipping + self.tax


def _stable_int(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")


class World:
    """One sandbox brand. Cheap to construct; days are generated on demand and cached.

    Without brand arguments it is the single-brand sandbox's Lumen & Leaf, on the deployment's
    time zone (``BRAND_TIMEZONE``). With them (``sandbox/brands.py``) it is one of several brands:
    its own name, store, currency and time zone, whose local evening its orders peak in.
    """

    brand = "Lumen & Leaf"
    brand_address = "Lumen & Leaf, 500 Market Street, San Francisco, CA 94105, USA"
    store_url = "https://shop.lumenleaf.example"
    timezone: str | None = None  # None: the deployment's BRAND_TIMEZONE
    currency = "USD"

    def __init__(
        self,
        seed: int = 7,
        scale: float = 1.0,
        today: date | None = None,
        years: int = 2,
        *,
        brand: str | None = None,
        brand_address: str | None = None,
        store_url: str | None = None,
        timezone: str | None = None,
        currency: str | None = None,
    ):
        self.seed, self.scale = seed, scale
        for attr, value in (
            ("brand", brand),
            ("brand_address", brand_address),
            ("store_url", store_url),
            ("timezone", timezone),
            ("currency", currency),
        ):
            if value is not None:
                setattr(self, attr, value)
        self.today = today or datetime.now(UTC).date()
        self.start = self.today - timedelta(days=365 * years + 30)
        self._orders_on = lru_cache(maxsize=64)(self._generate_day)

    @property
    def tz(self) -> ZoneInfo:
        """The brand's zone: its own, or the deployment's for the single-brand sandbox."""
        return ZoneInfo(self.timezone) if self.timezone else settings.load().tz

    # -- catalog and people -----------------------------------------------------------
    @cached_property
    def products(self) -> list[Product]:
        out = []
        for i, (category, line, price, variants) in enumerate(_CATALOG):
            for j, variant in enumerate(variants):
                pid = f"17290{i:04d}"
                sku = f"{pid}{j:03d}"
                slug = line.lower().replace(" ", "-")
                out.append(
                    Product(
                        pid,
                        sku,
                        line,
                        variant,
                        category,
                        self.brand,
                        Decimal(price),
                        f"{self.store_url}/images/{slug}-{j}.jpg",
                    )
                )
        return out

    @cached_property
    def customers(self) -> list[Customer]:
        rng = random.Random(f"{self.seed}:customers")
        n = max(50, int(40_000 * self.scale))
        span = (self.today - self.start).days
        people = []
        for i in range(n):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            region, city = rng.choice(_STATES)
            # a fifth were customers before the history starts; sign-ups then grow with the brand
            if rng.random() < 0.2:
                signed_up = self.start - timedelta(days=rng.randrange(1, 365))
            else:
                signed_up = self.start + timedelta(days=int(span * math.sqrt(rng.random())))
            people.append(
                Customer(
                    customer_id=i + 1,
                    email=f"{first}.{last}.{i + 1}@example.com".lower(),
                    phone=f"+1415{rng.randrange(10**6, 10**7)}",
                    first_name=first,
                    last_name=last,
                    tiktok_user_id=f"7{_stable_int(self.seed, 'tt', i) % 10**17:017d}",
                    signed_up=signed_up,
                    accepts_marketing=rng.random() < 0.62,
                    city=city,
                    region=region,
                )
            )
        people.sort(key=lambda c: (c.signed_up, c.customer_id))
        return people

    @cached_property
    def _signup_days(self) -> list[date]:
        return [c.signed_up for c in self.customers]

    @cached_property
    def _loyalty_cum(self) -> list[float]:
        rng = random.Random(f"{self.seed}:loyalty")
        total, cum = 0.0, []
        for _ in self.customers:
            total += min(rng.paretovariate(2.0), 12.0)  # a few loyal buyers, a long tail of one-timers
            cum.append(total)
        return cum

    # -- rhythm ---------------------------------------------------------------------
    def expected_orders(self, day: date) -> float:
        """Orders per day: growth trend, weekly rhythm, seasons, and the BFCM/holiday peak."""
        progress = (day - self.start).days / max(1, (self.today - self.start).days)
        trend = 0.6 + 0.7 * progress
        weekly = (1.0, 0.92, 0.95, 1.0, 1.08, 1.2, 1.25)[day.weekday()]
        season = 1 + 0.18 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 100) / 365)
        peak = (
            2.6
            if (day.month == 11 and 24 <= day.day <= 30)
            else 1.6
            if day.month == 12 and day.day < 20
            else 1.0
        )
        return 110 * self.scale * trend * weekly * season * peak

    # -- orders -----------------------------------------------------------------------
    def orders_on(self, day: date) -> list[Order]:
        """Every order created on this UTC day, both channels, in creation order."""
        if day < self.start or day > self.today:
            return []
        return self._orders_on(day)

    def orders_between(self, start: datetime, end: datetime) -> list[Order]:
        """Orders with ``start <= created_at < end`` (aware datetimes), oldest first."""
        first = max(start.astimezone(UTC).date(), self.start)
        last = min(end.astimezone(UTC).date(), self.today)
        out = []
        day = first
        while day <= last:
            out.extend(o for o in self.orders_on(day) if start <= o.created_at < end)
            day += timedelta(days=1)
        return out

    def _pick_customer(self, rng: random.Random, day: date) -> Customer:
        k = bisect.bisect_right(self._signup_days, day)
        if k == 0:
            return self.customers[0]
        if rng.random() < 0.3:  # a recent sign-up buying for the first time
            lo = bisect.bisect_left(self._signup_days, day - timedelta(days=21))
            return self.customers[rng.randrange(min(lo, k - 1), k)]
        r = rng.random() * self._loyalty_cum[k - 1]
        return self.customers[bisect.bisect_left(self._loyalty_cum, r, 0, k)]

    def _status(
        self, rng: random.Random, created: datetime, channel: str
    ) -> tuple[str, datetime, datetime | None]:
        now = datetime.combine(self.today, time(23, 59, 59), tzinfo=UTC)
        age = (now - created).total_seconds() / 86400
        if rng.random() < 0.04:
            return "CANCELLED", min(now, created + timedelta(hours=rng.uniform(1, 30))), None
        paid = created + timedelta(seconds=rng.randint(5, 600))
        if age < 1 and rng.random() < 0.08:
            return "UNPAID", created, None
        for limit, status, lag in (
            (1.5, "AWAITING_SHIPMENT", 0.1),
            (4, "IN_TRANSIT", 1.2),
            (8, "DELIVERED", 4),
            (math.inf, "COMPLETED", 8),
        ):
            if age < limit:
                return status, min(now, created + timedelta(days=lag)), paid
        raise AssertionError("unreachable")

    def _generate_day(self, day: date) -> list[Order]:
        rng = random.Random(f"{self.seed}:orders:{day.isoformat()}")
        lam = self.expected_orders(day)
        count = max(0, int(rng.gauss(lam, math.sqrt(lam))))
        base = datetime.combine(day, time.min, tzinfo=UTC)
        # more orders in the evening (US) than at night
        seconds = sorted(int((rng.betavariate(2.2, 1.6)) * 86399) for _ in range(count))
        if self.timezone:  # the same rhythm on the brand's own clock (still within this UTC day)
            shift = int(self.tz.utcoffset(datetime.combine(day, time(12))).total_seconds())
            seconds = sorted((sec - shift) % 86400 for sec in seconds)
        orders = []
        for n, sec in enumerate(seconds):
            created = base + timedelta(seconds=sec)
            channel = "tiktok_shop" if rng.random() < 0.42 else "website"
            customer = self._pick_customer(rng, day)
            status, updated, paid = self._status(rng, created, channel)
            code = rng.choice(["WELCOME10", "GLOW15", None, None, None, None])
            lines = []
            for li in range(rng.choices([1, 2, 3, 4], [0.55, 0.28, 0.12, 0.05])[0]):
                product = rng.choice(self.products)
                qty = rng.choices([1, 2, 3], [0.82, 0.14, 0.04])[0]
                pct = (
                    Decimal("0.10")
                    if code == "WELCOME10"
                    else Decimal("0.15")
                    if code == "GLOW15"
                    else Decimal(0)
                )
                disc = (product.price * qty * pct).quantize(CENTS)
                lines.append(OrderLine(f"{n + 1}-{li + 1}", product, qty, product.price, disc))
            subtotal = sum((ln.total for ln in lines), Decimal(0))
            shipping = Decimal("0.00") if subtotal >= 50 else Decimal("5.95")
            tax = (subtotal * Decimal("0.0825")).quantize(CENTS)
            if channel == "tiktok_shop":
                order_id = (
                    f"57{(day - date(2020, 1, 1)).days:05d}{n:06d}{_stable_int(self.seed, day, n) % 1000:03d}"
                )
                utm = {}
            else:
                order_id = f"W{day:%Y%m%d}{n:05d}"
                source, medium, _ = rng.choices(_SOURCES, [w for *_, w in _SOURCES])[0]
                utm = (
                    {}
                    if source == "(direct)"
                    else {
                        "utm_source": source,
                        "utm_medium": medium,
                        "utm_campaign": _CAMPAIGNS[(day.month + n) % len(_CAMPAIGNS)],
                    }
                )
            orders.append(
                Order(
                    order_id,
                    channel,
                    customer,
                    created,
                    max(updated, created),
                    paid,
                    status,
                    tuple(lines),
                    shipping,
                    tax,
                    currency=self.currency,
                    utm=utm,
                    discount_code=code,
                )
            )
        return orders
