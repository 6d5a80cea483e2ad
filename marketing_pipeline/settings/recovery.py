"""Cart recovery settings: every timing and rule, and who the emails come from, read when asked for.

Durations in the environment are written like ``30m``, ``24h``, ``2d`` or plain seconds.

Many brands: the timings and rules (``CART_RECOVERY_*``) are shared; who the emails come from is
the brand's (``RecoveryPolicy.for_brand``): its name, postal address, store, sender, time zone
(quiet hours) and currency from the brands file, and its own ``<ID>_CART_RECOVERY_PUBLIC_URL``
when its links answer on a host of their own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings.brands import Brand

SENDERS = ("sendgrid", "customerio", "platform_flow")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(name: str, raw: str) -> timedelta:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", raw or "")
    if not m:
        raise SettingsError(f"{name} must be a duration like 30m, 24h or 2d, got {raw!r}")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2) or "s"])


def sender_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``CART_RECOVERY_SENDER`` alone (the definitions pick the recovery job's pool from it)."""
    env = os.environ if environ is None else environ
    sender = env.get("CART_RECOVERY_SENDER", "").strip().lower() or "sendgrid"
    if sender not in SENDERS:
        raise SettingsError(f"CART_RECOVERY_SENDER must be one of {', '.join(SENDERS)}, got {sender!r}")
    return sender


@dataclass(frozen=True)
class Step:
    number: int
    name: str  # reminder | urgency | offer
    delay: timedelta  # after the cart's last activity
    discount_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class RecoveryPolicy:
    steps: tuple[Step, ...] = (
        Step(1, "reminder", timedelta(minutes=30)),
        Step(2, "urgency", timedelta(hours=24)),
        Step(3, "offer", timedelta(hours=48), Decimal(10)),
    )
    idle: timedelta = timedelta(minutes=30)  # no activity this long = abandoned
    min_gap: timedelta = timedelta(hours=6)  # between two steps of one cart
    late_grace: timedelta = timedelta(hours=24)  # a step this late is not sent any more
    cap_window: timedelta = timedelta(days=7)  # one sequence per person in this window
    link_ttl: timedelta = timedelta(days=7)
    attribution_window: timedelta = timedelta(days=7)
    quiet_hours: tuple[int, int] | None = None  # (start hour, end hour) brand-local, no sends
    timezone: str = "UTC"
    max_requests_per_tick: int = 1000
    # Who the emails come from: BRAND_NAME, BRAND_ADDRESS, STORE_URL, SENDGRID_FROM_EMAIL.
    brand_name: str = ""
    brand_address: str = ""  # a postal address: required in marketing email (CAN-SPAM)
    store_url: str = ""
    public_url: str = "http://127.0.0.1:8000"  # where this project's web app answers /r and /u
    from_email: str = ""
    # CART_RECOVERY_SENDER: sendgrid (rendered here), customerio (transactional templates, one per
    # step: CART_RECOVERY_CUSTOMERIO_MESSAGE_IDS) or platform_flow (nothing sent here: the platform's
    # own flow reacts to the forwarded shopper events).
    sender: str = "sendgrid"
    customerio_message_ids: tuple[str, ...] = ()
    # platform_flow: the platform's recovery flows whose emails the report counts (CART_RECOVERY_PLATFORM_FLOWS:
    # Klaviyo flow or Customer.io campaign names or ids, compared in lower case).
    platform_flows: tuple[str, ...] = ("abandoned cart", "abandoned checkout")
    # Send only to people whose latest recorded email consent is a yes (e.g. shoppers in the EU/UK).
    require_consent: bool = False
    # The offer step when the discount-code pool is empty: "without_offer" (send it, no code) or "skip".
    empty_pool: str = "without_offer"
    # Besides the store's own host, where a recovery link may send a shopper (TikTok Shop product pages).
    redirect_hosts: tuple[str, ...] = ("shop.tiktok.com",)
    # The brand the emails are for: "" for the default brand (links /r/<token>), else its id (links
    # /r/<brand>/<token>, resolved in that brand's warehouse).
    brand_id: str = ""
    currency: str = "USD"

    @property
    def link_prefix(self) -> str:
        """The path segment recovery and unsubscribe links carry before their token."""
        return f"/{self.brand_id}" if self.brand_id else ""

    def may_redirect_to(self, url: str | None) -> bool:
        """Recovery links lead only to the store's host or a configured one, over http(s)."""
        if not url:
            return False
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        allowed = {
            (urlsplit(self.store_url).hostname or "").lower(),
            *(h.lower() for h in self.redirect_hosts),
        }
        return parts.scheme in ("http", "https") and bool(host) and host in allowed

    def missing_sender(self) -> list[str]:
        """Variables a recovery email cannot go out without, in the configured sender mode."""
        if self.brand_id:  # another brand's identity is in the brands file
            at = f" of brand {self.brand_id} in the brands file"
            needed = {f"name{at}": self.brand_name, f"address{at}": self.brand_address}
            needed[f"store_url{at}"] = self.store_url
        else:
            needed = {
                "BRAND_NAME": self.brand_name,
                "BRAND_ADDRESS": self.brand_address,
                "STORE_URL": self.store_url,
            }
        if self.sender == "sendgrid":
            needed[
                f"sender of brand {self.brand_id} in the brands file"
                if self.brand_id
                else "SENDGRID_FROM_EMAIL"
            ] = self.from_email
        elif self.sender == "customerio":
            needed["CART_RECOVERY_CUSTOMERIO_MESSAGE_IDS"] = ",".join(self.customerio_message_ids)
        else:
            return []
        return [var for var, value in needed.items() if not value]

    def customerio_message_id(self, step: int) -> int | str:
        raw = self.customerio_message_ids[step - 1]
        return int(raw) if raw.isdigit() else raw  # a numeric id, or the template's trigger name

    def step(self, number: int) -> Step:
        for s in self.steps:
            if s.number == number:
                return s
        raise ValueError(f"no recovery step {number}; steps are {[s.number for s in self.steps]}")

    def is_quiet(self, now: datetime) -> bool:
        if not self.quiet_hours:
            return False
        start, end = self.quiet_hours
        hour = now.astimezone(ZoneInfo(self.timezone)).time()
        lo, hi = time(start), time(end)
        return (lo <= hour < hi) if lo <= hi else (hour >= lo or hour < hi)

    @classmethod
    def for_brand(cls, brand: Brand, environ: Mapping[str, str] | None = None) -> RecoveryPolicy:
        """The shared rules, with ``brand``'s identity. The default brand keeps today's variables
        for what its entry in the brands file leaves out; another brand never borrows them."""
        env = os.environ if environ is None else environ
        policy = cls.from_env(env)
        own = {
            "brand_name": brand.name,
            "brand_address": brand.address,
            "store_url": brand.store_url,
            "from_email": brand.sender,
            "timezone": brand.timezone,
        }
        if brand.is_default:
            own = {k: v for k, v in own.items() if v}
            return replace(policy, **own, currency=brand.currency)
        public = env.get(brand.variable("CART_RECOVERY_PUBLIC_URL"), "").strip()
        return replace(
            policy,
            **own,
            public_url=public or policy.public_url,
            brand_id=brand.id,
            currency=brand.currency,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RecoveryPolicy:
        env = os.environ if environ is None else environ
        policy = cls(timezone=env.get("BRAND_TIMEZONE", "").strip() or "UTC")
        changes: dict = {}
        for var, attr in (
            ("CART_RECOVERY_IDLE", "idle"),
            ("CART_RECOVERY_MIN_GAP", "min_gap"),
            ("CART_RECOVERY_LATE_GRACE", "late_grace"),
            ("CART_RECOVERY_CAP_WINDOW", "cap_window"),
            ("CART_RECOVERY_LINK_TTL", "link_ttl"),
            ("CART_RECOVERY_ATTRIBUTION_WINDOW", "attribution_window"),
        ):
            if env.get(var, "").strip():
                changes[attr] = parse_duration(var, env[var])
        if env.get("CART_RECOVERY_STEP_DELAYS", "").strip():
            delays = [
                parse_duration("CART_RECOVERY_STEP_DELAYS", d)
                for d in env["CART_RECOVERY_STEP_DELAYS"].split(",")
            ]
            if len(delays) != len(policy.steps) or delays != sorted(delays):
                raise SettingsError(
                    f"CART_RECOVERY_STEP_DELAYS needs {len(policy.steps)} increasing durations"
                )
            changes["steps"] = tuple(replace(s, delay=d) for s, d in zip(policy.steps, delays, strict=True))
        if env.get("CART_RECOVERY_DISCOUNT_PERCENT", "").strip():
            pct = Decimal(env["CART_RECOVERY_DISCOUNT_PERCENT"])
            if not 0 < pct < 100:
                raise SettingsError("CART_RECOVERY_DISCOUNT_PERCENT must be between 0 and 100")
            steps = changes.get("steps", policy.steps)
            changes["steps"] = steps[:-1] + (replace(steps[-1], discount_percent=pct),)
        quiet = env.get("CART_RECOVERY_QUIET_HOURS", "").strip()
        if quiet:
            m = re.fullmatch(r"(\d{1,2})-(\d{1,2})", quiet)
            if not m or not all(0 <= int(h) <= 23 for h in m.groups()):
                raise SettingsError(f"CART_RECOVERY_QUIET_HOURS must look like 21-8, got {quiet!r}")
            changes["quiet_hours"] = (int(m.group(1)), int(m.group(2)))
        for var, attr in (
            ("BRAND_NAME", "brand_name"),
            ("BRAND_ADDRESS", "brand_address"),
            ("STORE_URL", "store_url"),
            ("CART_RECOVERY_PUBLIC_URL", "public_url"),
            ("SENDGRID_FROM_EMAIL", "from_email"),
        ):
            if env.get(var, "").strip():
                changes[attr] = env[var].strip()
        changes["sender"] = sender_from_env(env)
        ids = tuple(
            i.strip() for i in env.get("CART_RECOVERY_CUSTOMERIO_MESSAGE_IDS", "").split(",") if i.strip()
        )
        if ids and len(ids) not in (1, len(policy.steps)):
            raise SettingsError(
                f"CART_RECOVERY_CUSTOMERIO_MESSAGE_IDS needs one id for every step or {len(policy.steps)} ids"
            )
        changes["customerio_message_ids"] = ids * len(policy.steps) if len(ids) == 1 else ids
        flows = tuple(
            f.strip().lower() for f in env.get("CART_RECOVERY_PLATFORM_FLOWS", "").split(",") if f.strip()
        )
        if flows:
            changes["platform_flows"] = flows
        flag = env.get("CART_RECOVERY_REQUIRE_CONSENT", "").strip().lower()
        if flag:
            if flag not in ("true", "false", "1", "0", "yes", "no"):
                raise SettingsError(f"CART_RECOVERY_REQUIRE_CONSENT must be true or false, got {flag!r}")
            changes["require_consent"] = flag in ("true", "1", "yes")
        empty = env.get("CART_RECOVERY_EMPTY_POOL", "").strip().lower()
        if empty:
            if empty not in ("without_offer", "skip"):
                raise SettingsError(f"CART_RECOVERY_EMPTY_POOL must be without_offer or skip, got {empty!r}")
            changes["empty_pool"] = empty
        if env.get("CART_RECOVERY_REDIRECT_HOSTS", "").strip():
            changes["redirect_hosts"] = tuple(
                h.strip() for h in env["CART_RECOVERY_REDIRECT_HOSTS"].split(",") if h.strip()
            )
        return replace(policy, **changes)
