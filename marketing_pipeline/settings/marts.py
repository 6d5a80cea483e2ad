"""Thresholds of the marts, from ``MARTS_*`` environment variables (documented in the README).

They reach the SQL as transaction-local settings (``current_setting('marts.<name>')``), so the
SQL files stay plain multi-statement scripts.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass

from marketing_pipeline import settings
from marketing_pipeline.settings import SettingsError


@dataclass(frozen=True)
class MartsConfig:
    new_days: int = 30  # new subscriber / new customer window
    active_days: int = 90  # last order within: active
    lapsed_days: int = 180  # last order older than this: lapsed (between: at risk)
    vip_min_orders: int = 3
    vip_min_revenue: float = 250.0  # net revenue over the last 365 days
    rfm_months: int = 13  # monthly RFM snapshots kept (a year of movement + the running month)
    attribution_window_days: float = 5.0
    attribution_opens: bool = False
    default_country_code: str = "1"  # for phones written without one

    def gucs(self, tz: str) -> dict[str, str]:
        values = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in asdict(self).items()}
        values["attribution_window_seconds"] = str(int(self.attribution_window_days * 86400))
        values["default_cc"] = self.default_country_code
        values["tz"] = tz
        return values


def _get(name: str, default, cast):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {cast.__name__}, got {raw!r}") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise SettingsError(f"{name} must not be negative, got {raw!r}")
    return value


def _bool(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


_bool.__name__ = "boolean"


def load() -> MartsConfig:
    d = MartsConfig()
    cfg = MartsConfig(
        new_days=_get("MARTS_NEW_DAYS", d.new_days, int),
        active_days=_get("MARTS_ACTIVE_DAYS", d.active_days, int),
        lapsed_days=_get("MARTS_LAPSED_DAYS", d.lapsed_days, int),
        vip_min_orders=_get("MARTS_VIP_MIN_ORDERS", d.vip_min_orders, int),
        vip_min_revenue=_get("MARTS_VIP_MIN_REVENUE", d.vip_min_revenue, float),
        rfm_months=max(1, _get("MARTS_RFM_MONTHS", d.rfm_months, int)),
        attribution_window_days=_get("ATTRIBUTION_WINDOW_DAYS", d.attribution_window_days, float),
        attribution_opens=_get("ATTRIBUTION_INCLUDE_OPENS", d.attribution_opens, _bool),
        default_country_code=os.environ.get("MARTS_DEFAULT_COUNTRY_CODE", "").strip().lstrip("+") or "1",
    )
    if cfg.lapsed_days < cfg.active_days:
        raise SettingsError("MARTS_LAPSED_DAYS must be at least MARTS_ACTIVE_DAYS")
    return cfg


def lanes() -> int:
    """How many builders of one brand's marts run at once (``MARTS_LANES``, default 2): each holds
    one server backend, so more than the database server's cores only makes them wait."""
    return max(1, _get("MARTS_LANES", 2, int))


# The zone of the brand whose marts are being built (``brand_zone``); unset: BRAND_TIMEZONE.
_zone: ContextVar[str | None] = ContextVar("marts_brand_zone", default=None)


@contextmanager
def brand_zone(timezone: str) -> Iterator[None]:
    """Within the block, ``gucs()`` cuts days in ``timezone`` (the brand whose warehouse is built),
    for every caller of ``gucs`` (the segment snapshot and the rebuild included)."""
    token = _zone.set(timezone)
    try:
        yield
    finally:
        _zone.reset(token)


def gucs() -> dict[str, str]:
    return load().gucs(_zone.get() or settings.load().brand_timezone)
