"""The brands one deployment serves, from one file, read when asked for.

``brands.yaml`` (``MARKETING_BRANDS_FILE``, else ``brands.yaml`` at the project root when present)
lists each brand: id, name, time zone, currency, store URL, sender, postal address, the vendors it
uses and, per vendor, the NAMES of the variables holding its credentials. Values stay in the
environment. Without a file there is one default brand built from the single-brand variables
(``BRAND_NAME``, ``BRAND_TIMEZONE``, ``STORE_URL``, …), so a deployment of one brand changes nothing.

A brand's variable for a vendor setting is, in this order: the name the file gives it, else the
standard name (``settings/vendors.py``) behind the brand's ``env_prefix``. The prefix is empty for
the default brand (today's variables keep working) and ``<ID>_`` for the others, so brand
``northwind`` reads ``NORTHWIND_KLAVIYO_API_KEY`` unless the file says otherwise.

Each brand has its own warehouse database: the default brand's is ``MARKETING_DATABASE_URL`` (or the
embedded one), another brand's is its ``<ID>_MARKETING_DATABASE_URL`` (the file's ``warehouse`` key
names another variable), else a database beside the default one (``warehouse/engine.py``).

Keys starting with ``x-`` are kept (``Brand.extensions``) for tools and ignored here.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg
import yaml

from marketing_pipeline.settings import PROJECT_ROOT, SettingsError
from marketing_pipeline.settings.vendors import VENDORS, VendorSettings

BRANDS_FILE = "MARKETING_BRANDS_FILE"
DEFAULT_ID = "default"  # the single brand's id when there is no file

_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")  # a partition key, an SQL value and a variable prefix
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_BRAND_KEYS = (
    "id",
    "name",
    "timezone",
    "currency",
    "store_url",
    "sender",
    "address",
    "env_prefix",
    "warehouse",
    "vendors",
)
_TOP_KEYS = ("brands", "default")


@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    timezone: str
    currency: str = "USD"
    store_url: str = ""
    sender: str = ""  # the From address of the brand's emails
    address: str = ""  # postal address printed in marketing email
    # vendor key -> standard variable name -> this brand's variable name, for each enabled vendor
    variables: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    is_default: bool = False
    # the variable holding this brand's warehouse URL; unset: a database beside the default brand's
    warehouse_variable: str = "MARKETING_DATABASE_URL"
    # put before a standard variable name to give this brand's own (``variable``): "" for the
    # default brand unless the file says otherwise, ``<ID>_`` for the others
    env_prefix: str = ""
    extensions: Mapping[str, object] = field(default_factory=dict, compare=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def vendors(self) -> tuple[str, ...]:
        return tuple(self.variables)

    def variable(self, name: str) -> str:
        """This brand's name for a setting outside the vendors' (``WEBSITE_WRITE_KEY`` ->
        ``NORTHWIND_WEBSITE_WRITE_KEY``)."""
        return self.env_prefix + name

    def vendor(self, key: str) -> VendorSettings:
        """The vendor's settings read from this brand's variables (``VENDORS`` renamed, not copied).

        ``missing``, ``values`` and ``env_vars`` of the result then work per brand unchanged.
        """
        if key not in self.variables:
            raise SettingsError(f"brand {self.id!r} does not use {key!r}; its vendors: {list(self.vendors)}")
        base, names = VENDORS[key], self.variables[key]
        return VendorSettings(
            key=base.key,
            name=base.name,
            fields={f: names[var] for f, var in base.fields.items()},
            required=tuple(names[var] for var in base.required),
            alternatives=tuple(tuple(names[var] for var in group) for group in base.alternatives),
        )


@dataclass(frozen=True)
class VendorCredentials:
    """One vendor's credentials for one brand. Values never appear in ``repr`` (logs, errors)."""

    brand: str
    vendor: str
    missing: tuple[str, ...]  # variables that must be set before the vendor can run for this brand
    values: Mapping[str, str] = field(repr=False)  # resource field -> value, the set ones only

    @property
    def configured(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Brands:
    """Every brand, in file order; ``default`` is the one the single-brand variables belong to."""

    all: tuple[Brand, ...]
    source: Path | None = None  # the file, or None for the default brand from the environment

    @property
    def default(self) -> Brand:
        return next(b for b in self.all if b.is_default)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(b.id for b in self.all)

    def get(self, brand_id: str | None) -> Brand:
        """The brand of that id; the default brand when none is given (an empty id included)."""
        if not brand_id:
            return self.default
        for b in self.all:
            if b.id == brand_id:
                return b
        raise SettingsError(f"unknown brand {brand_id!r}; brands: {list(self.ids)}")

    def __iter__(self) -> Iterator[Brand]:
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)


def credentials(brand: Brand, environ: Mapping[str, str] | None = None) -> dict[str, VendorCredentials]:
    """Vendor key -> the brand's credentials for it, for every vendor the brand uses."""
    env = os.environ if environ is None else environ
    out = {}
    for key in brand.vendors:
        v = brand.vendor(key)
        out[key] = VendorCredentials(brand.id, key, tuple(v.missing(env)), MappingProxyType(v.values(env)))
    return out


def resource_args(brand: Brand, key: str, environ: Mapping[str, str] | None = None) -> dict[str, dg.EnvVar]:
    """A vendor resource's keyword arguments for one brand, as ``EnvVar``s of the brand's variables."""
    return brand.vendor(key).env_vars(environ)


def unconfigured(brand: Brand, environ: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Vendor key -> missing variables, for each vendor the brand uses but has not configured."""
    return {k: list(c.missing) for k, c in credentials(brand, environ).items() if not c.configured}


# -- loading ---------------------------------------------------------------------------


def brands_file(environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    named = env.get(BRANDS_FILE, "").strip()
    if named:
        path = Path(named)
        if not path.is_file():
            raise SettingsError(f"{BRANDS_FILE} names {named!r}, which is not a file")
        return path
    path = PROJECT_ROOT / "brands.yaml"
    return path if path.is_file() else None


def load(environ: Mapping[str, str] | None = None) -> Brands:
    """The brands file's brands, or the one default brand from the single-brand variables."""
    env = os.environ if environ is None else environ
    path = brands_file(env)
    if path is None:
        return Brands((default_brand(env),))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from None
    return parse(data, source=path)


_cached: dict[tuple, Brands] = {}


def from_path(brand_id: str | None) -> Brand | None:
    """The brand a URL path names (``/webhooks/<brand>/…``, ``/r/<brand>/…``): the default brand when
    the path names none, None for an id that is no brand."""
    brands = load_cached()
    if brand_id is None:
        return brands.default
    try:
        return brands.get(brand_id)
    except SettingsError:
        return None


def load_cached() -> Brands:
    """``load()`` for code that asks on every request (the web app): the file is parsed again only
    when it changes (path, size, modification time); without a file the default brand is rebuilt."""
    path = brands_file()
    if path is None:
        return load()
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    found = _cached.get(key)
    if found is None:
        found = load()
        _cached.clear()
        _cached[key] = found
    return found


def default_brand(environ: Mapping[str, str] | None = None) -> Brand:
    """The brand a deployment without a brands file serves: today's single-brand variables."""
    env = os.environ if environ is None else environ
    tz = env.get("BRAND_TIMEZONE", "").strip() or "UTC"
    if not _is_zone(tz):
        raise SettingsError(f"BRAND_TIMEZONE {tz!r} is not an IANA time zone (e.g. America/New_York)")
    return Brand(
        id=DEFAULT_ID,
        name=env.get("BRAND_NAME", "").strip(),
        timezone=tz,
        store_url=env.get("STORE_URL", "").strip(),
        sender=env.get("SENDGRID_FROM_EMAIL", "").strip(),
        address=env.get("BRAND_ADDRESS", "").strip(),
        variables=_variables({k: None for k in VENDORS}, ""),
        is_default=True,
    )


def parse(data: object, source: Path | str | None = None) -> Brands:
    """Validate a brands file's content; every problem is reported at once, each with its place."""
    where = str(source or "brands file")
    errors: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("brands"), list) or not data["brands"]:
        raise SettingsError(f"{where}: needs a non-empty list under 'brands:'")
    errors += _unknown_keys(data, _TOP_KEYS, "")
    seen: dict[str, int] = {}
    raw_brands: list[dict] = []
    for i, item in enumerate(data["brands"]):
        place = f"brands[{i}]"
        if not isinstance(item, dict):
            errors.append(f"{place}: must be a mapping of id, name, timezone, …")
            continue
        bid = item.get("id")
        if isinstance(bid, str) and _ID.fullmatch(bid):
            place = f"brands[{i}] ({bid})"
            if bid in seen:
                errors.append(f"{place}: duplicate id {bid!r} (also brands[{seen[bid]}])")
            seen.setdefault(bid, i)
        else:
            errors.append(
                f"{place}: id {bid!r} must be lowercase letters, digits and _, starting with a letter"
            )
        errors += [f"{place}: {e}" for e in _check_brand(item)]
        raw_brands.append(item)
    default_id = data.get("default")
    if default_id is not None and default_id not in seen:
        errors.append(f"default: {default_id!r} is not the id of a brand; brands: {list(seen)}")
    if errors:
        raise SettingsError(f"{where}:\n  " + "\n  ".join(errors))
    default_id = default_id or raw_brands[0]["id"]
    brands = tuple(_brand(item, item["id"] == default_id) for item in raw_brands)
    _check_shared_accounts(brands, where)
    return Brands(brands, Path(source) if source else None)


def _check_brand(item: dict) -> list[str]:
    errors = _unknown_keys(item, _BRAND_KEYS, "")
    for key in ("name", "timezone"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            errors.append(f"{key} is required")
    tz = item.get("timezone")
    if isinstance(tz, str) and tz.strip() and not _is_zone(tz):
        errors.append(f"timezone {tz!r} is not an IANA time zone (e.g. Europe/Berlin)")
    currency = item.get("currency", "USD")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        errors.append(f"currency {currency!r} must be a three-letter ISO code in capitals (e.g. EUR)")
    url = item.get("store_url")
    if url is not None and (not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https")):
        errors.append(f"store_url {url!r} must be an http(s) URL")
    sender = item.get("sender")
    if sender is not None and (not isinstance(sender, str) or "@" not in sender):
        errors.append(f"sender {sender!r} must be an email address")
    for key in ("name", "address"):
        if item.get(key) is not None and not isinstance(item[key], str):
            errors.append(f"{key} must be text")
    prefix = item.get("env_prefix")
    if prefix is not None and not (isinstance(prefix, str) and (prefix == "" or _ENV_NAME.fullmatch(prefix))):
        errors.append(f"env_prefix {prefix!r} must be empty or start a valid variable name (A-Z, 0-9, _)")
    warehouse = item.get("warehouse")
    if warehouse is not None and not (isinstance(warehouse, str) and _ENV_NAME.fullmatch(warehouse)):
        errors.append(
            f"warehouse {warehouse!r} must be the name of the variable holding the brand's database URL"
        )
    return errors + _check_vendors(item.get("vendors"))


def _check_vendors(vendors: object) -> list[str]:
    if vendors is None:
        return []
    if isinstance(vendors, list):
        vendors = {v: None for v in vendors} if all(isinstance(v, str) for v in vendors) else None
    if not isinstance(vendors, dict):
        return ["vendors must be a list of vendor names or a mapping vendor -> {VARIABLE: BRAND_VARIABLE}"]
    errors = []
    for key, names in vendors.items():
        if key not in VENDORS:
            errors.append(f"unknown vendor {key!r}{_did_you_mean(key, VENDORS)}; vendors: {sorted(VENDORS)}")
            continue
        if names is None:
            continue
        if not isinstance(names, dict):
            errors.append(f"vendors.{key} must map standard variable names to this brand's names")
            continue
        own = VENDORS[key].variables
        for std, name in names.items():
            if std not in own:
                errors.append(
                    f"vendors.{key}: {std!r} is not one of its variables{_did_you_mean(std, own)} {list(own)}"
                )
            if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
                errors.append(f"vendors.{key}.{std}: {name!r} is not a valid environment variable name")
    return errors


def _brand(item: dict, is_default: bool) -> Brand:
    vendors = item.get("vendors")
    if vendors is None:
        vendors = {k: None for k in VENDORS}
    elif isinstance(vendors, list):
        vendors = {k: None for k in vendors}
    prefix = item.get("env_prefix")
    if prefix is None:
        prefix = "" if is_default else item["id"].upper() + "_"
    return Brand(
        id=item["id"],
        name=item["name"].strip(),
        timezone=item["timezone"].strip(),
        currency=item.get("currency", "USD"),
        store_url=(item.get("store_url") or "").strip(),
        sender=(item.get("sender") or "").strip(),
        address=(item.get("address") or "").strip(),
        variables=_variables(vendors, prefix),
        is_default=is_default,
        warehouse_variable=item.get("warehouse") or prefix + "MARKETING_DATABASE_URL",
        env_prefix=prefix,
        extensions={k: v for k, v in item.items() if k.startswith("x-")},
    )


def _variables(vendors: Mapping[str, Mapping[str, str] | None], prefix: str) -> dict[str, dict[str, str]]:
    return {
        key: {var: (names or {}).get(var, prefix + var) for var in VENDORS[key].variables}
        for key, names in vendors.items()
    }


def _check_shared_accounts(brands: tuple[Brand, ...], where: str) -> None:
    """Two brands reading the very same credential variables would load one account twice."""
    owner: dict[tuple[str, tuple[str, ...]], str] = {}
    for b in brands:
        if ("warehouse", (b.warehouse_variable,)) in owner:
            raise SettingsError(
                f"{where}: brands {owner['warehouse', (b.warehouse_variable,)]!r} and {b.id!r} read the same "
                f"warehouse variable {b.warehouse_variable}; each brand keeps its data in its own database"
            )
        owner["warehouse", (b.warehouse_variable,)] = b.id
        for key in b.vendors:
            v = b.vendor(key)
            account = (key, v.required + tuple(var for g in v.alternatives for var in g))
            if account in owner:
                raise SettingsError(
                    f"{where}: brands {owner[account]!r} and {b.id!r} read the same {v.name} credentials "
                    f"({', '.join(account[1])}); give one of them its own variable names"
                )
            owner[account] = b.id


def _unknown_keys(item: dict, known: tuple[str, ...], place: str) -> list[str]:
    return [
        f"{place}unknown key {k!r}{_did_you_mean(str(k), known)}; keys: {list(known)}"
        for k in item
        if k not in known and not str(k).startswith("x-")
    ]


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
