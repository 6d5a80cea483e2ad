"""Configuration read from the environment, in one place.

Call ``load()`` when a value is needed; nothing here reads the environment at import time.
Sections: this module (warehouse, calendar, sandbox switch), ``vendors`` (each vendor's
variables, from which both the Dagster ``EnvVar``s and plain values derive), ``brands`` (the
brands file, and each brand's vendor variables), ``marts``, ``recovery`` and ``web``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    brand_timezone: str
    lookback_days: int
    history_start: date
    state_dir: Path
    sandbox: bool = False  # MARKETING_SANDBOX: generated vendors and a sandbox warehouse
    intraday_interval_minutes: int = 60
    dagster_ui_url: str = "http://127.0.0.1:3000"

    @property
    def intraday_cron(self) -> str:
        """Cron of the intraday refresh of today's partitions (``INTRADAY_INTERVAL_MINUTES``)."""
        n = self.intraday_interval_minutes
        if n < 60 and 60 % n == 0:
            return f"*/{n} * * * *"
        if n % 60 == 0 and 24 % (n // 60) == 0:
            return "0 * * * *" if n == 60 else f"0 */{n // 60} * * *"
        raise SettingsError(f"INTRADAY_INTERVAL_MINUTES must divide an hour or a day evenly, got {n}")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.brand_timezone)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false (1/0), got {raw!r}")


def load() -> Settings:
    tz_name = os.environ.get("BRAND_TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"BRAND_TIMEZONE {tz_name!r} is not an IANA time zone (e.g. America/New_York)"
        ) from None
    start_raw = os.environ.get("HISTORY_START_DATE", "").strip() or "2024-01-01"
    try:
        history_start = date.fromisoformat(start_raw)
    except ValueError:
        raise SettingsError(f"HISTORY_START_DATE must be YYYY-MM-DD, got {start_raw!r}") from None
    state_dir = Path(
        os.environ.get("MARKETING_STATE_DIR", "").strip() or PROJECT_ROOT / ".marketing_pipeline"
    )
    return Settings(
        database_url=os.environ.get("MARKETING_DATABASE_URL", "").strip() or None,
        brand_timezone=tz_name,
        lookback_days=_int("LOOKBACK_DAYS", 7),
        history_start=history_start,
        state_dir=state_dir,
        sandbox=flag("MARKETING_SANDBOX"),
        intraday_interval_minutes=_int("INTRADAY_INTERVAL_MINUTES", 60),
        dagster_ui_url=(os.environ.get("DAGSTER_UI_URL", "").strip() or "http://127.0.0.1:3000").rstrip("/"),
    )
