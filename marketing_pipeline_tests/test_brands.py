"""Brands from one file (settings/brands.py): loading, the default brand, errors, credentials per brand."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import yaml

from marketing_pipeline import brand_partitions
from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings import brands as bs
from marketing_pipeline.settings.vendors import VENDORS

BRAND_VARS = ("BRAND_NAME", "BRAND_TIMEZONE", "STORE_URL", "BRAND_ADDRESS", "SENDGRID_FROM_EMAIL")


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean environment: no brands file (not even at the project root), no vendor variables."""
    monkeypatch.setattr(bs, "PROJECT_ROOT", tmp_path)
    for var in {*BRAND_VARS, bs.BRANDS_FILE, *(v for s in VENDORS.values() for v in s.variables)}:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HISTORY_START_DATE", "2026-06-01")
    return monkeypatch


def write(path: Path, brands: list[dict], **top) -> Path:
    path.write_text(yaml.safe_dump({"brands": brands, **top}, sort_keys=False))
    return path


LUMEN = {
    "id": "lumenleaf",
    "name": "Lumen & Leaf",
    "timezone": "America/Los_Angeles",
    "currency": "USD",
    "store_url": "https://shop.lumenleaf.example",
    "sender": "hello@lumenleaf.example",
    "address": "500 Market Street, San Francisco, CA 94105, USA",
    "vendors": ["klaviyo", "sendgrid"],
}


def test_without_a_file_the_single_brand_variables_make_the_default_brand(env):
    env.setenv("BRAND_NAME", "Acme")
    env.setenv("BRAND_TIMEZONE", "Europe/Paris")
    env.setenv("STORE_URL", "https://acme.example")
    env.setenv("BRAND_ADDRESS", "1 Rue de Rivoli, Paris")
    env.setenv("SENDGRID_FROM_EMAIL", "hi@acme.example")
    env.setenv("KLAVIYO_API_KEY", "pk_acme")

    brands = bs.load()
    assert brands.source is None and brands.ids == (bs.DEFAULT_ID,)
    b = brands.default
    assert (b.name, b.timezone, b.store_url, b.address, b.sender, b.currency) == (
        "Acme",
        "Europe/Paris",
        "https://acme.example",
        "1 Rue de Rivoli, Paris",
        "hi@acme.example",
        "USD",
    )
    assert b.tz == ZoneInfo("Europe/Paris")
    # every vendor, read from today's variable names: a single-brand deployment changes nothing
    assert b.vendors == tuple(VENDORS)
    assert b.vendor("klaviyo").fields == VENDORS["klaviyo"].fields
    creds = bs.credentials(b)
    assert creds["klaviyo"].configured and creds["klaviyo"].values["api_key"] == "pk_acme"
    assert not creds["sendgrid"].configured and creds["sendgrid"].missing == ("SENDGRID_API_KEY",)


def test_default_brand_defaults_and_bad_time_zone(env):
    b = bs.load().default
    assert (b.id, b.name, b.timezone, b.store_url) == ("default", "", "UTC", "")
    env.setenv("BRAND_TIMEZONE", "Mars/Olympus")
    with pytest.raises(SettingsError, match="BRAND_TIMEZONE 'Mars/Olympus'"):
        bs.load()


def test_brands_file_at_the_project_root_is_found(env, tmp_path):
    write(tmp_path / "brands.yaml", [LUMEN])
    brands = bs.load()
    assert brands.source == tmp_path / "brands.yaml" and brands.ids == ("lumenleaf",)


def test_named_brands_file_that_does_not_exist(env, tmp_path):
    env.setenv(bs.BRANDS_FILE, str(tmp_path / "nope.yaml"))
    with pytest.raises(SettingsError, match="MARKETING_BRANDS_FILE names .*nope.yaml"):
        bs.load()


def test_loading_a_file(env, tmp_path):
    north = {
        "id": "northwind",
        "name": "Northwind Tea",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
        "vendors": {"klaviyo": {"KLAVIYO_API_KEY": "NW_KLAVIYO"}, "ga4": None},
        "x-sandbox": {"seed": 11},
    }
    env.setenv(bs.BRANDS_FILE, str(write(tmp_path / "b.yaml", [LUMEN, north])))
    brands = bs.load()
    assert brands.ids == ("lumenleaf", "northwind")
    lumen, nw = brands.get("lumenleaf"), brands.get("northwind")
    assert lumen.is_default and not nw.is_default and brands.default is lumen
    assert (lumen.name, lumen.sender, lumen.currency) == ("Lumen & Leaf", "hello@lumenleaf.example", "USD")
    assert lumen.vendors == ("klaviyo", "sendgrid")
    assert (nw.currency, nw.store_url, nw.vendors) == ("EUR", "", ("klaviyo", "ga4"))
    assert nw.extensions == {"x-sandbox": {"seed": 11}}
    # the default brand keeps today's names; another brand gets its id as prefix unless the file names one
    assert lumen.vendor("klaviyo").fields["api_key"] == "KLAVIYO_API_KEY"
    assert nw.vendor("klaviyo").fields["api_key"] == "NW_KLAVIYO"
    assert nw.vendor("klaviyo").fields["base_url"] == "NORTHWIND_KLAVIYO_BASE_URL"
    assert nw.vendor("ga4").required == ("NORTHWIND_GA4_PROPERTY_ID",)
    assert nw.vendor("ga4").alternatives == (
        ("NORTHWIND_GA4_ACCESS_TOKEN",),
        ("NORTHWIND_GA4_CREDENTIALS_JSON",),
    )
    with pytest.raises(SettingsError, match="does not use 'sendgrid'"):
        nw.vendor("sendgrid")
    with pytest.raises(SettingsError, match="unknown brand 'acme'"):
        brands.get("acme")
    # no brand named (a command or job run without --brand): the default brand
    assert brands.get(None) is brands.default and brands.get("") is brands.default
    assert brands.default.id != "northwind"


def test_default_key_and_env_prefix(env, tmp_path):
    north = {"id": "northwind", "name": "N", "timezone": "UTC", "env_prefix": "NW_", "vendors": ["sendgrid"]}
    env.setenv(bs.BRANDS_FILE, str(write(tmp_path / "b.yaml", [LUMEN, north], default="northwind")))
    brands = bs.load()
    assert brands.default.id == "northwind"
    # the default brand reads today's names, whatever its prefix; the other brand gets its id's
    assert brands.get("northwind").vendor("sendgrid").fields["api_key"] == "NW_SENDGRID_API_KEY"
    assert brands.get("lumenleaf").vendor("sendgrid").fields["api_key"] == "LUMENLEAF_SENDGRID_API_KEY"


def errors_of(brands: list[dict], **top) -> str:
    with pytest.raises(SettingsError) as exc:
        bs.parse({"brands": brands, **top}, source="brands.yaml")
    return str(exc.value)


def test_every_error_is_reported_at_once_with_its_place():
    message = errors_of(
        [
            LUMEN,
            {**LUMEN, "vendors": ["klavio"]},
            {
                "id": "north",
                "name": "N",
                "timezone": "Europe/Berlni",
                "currency": "eur",
                "timzone": "UTC",
                "vendors": {"sendgrid": {"SENDGRID_API_KEY": "NOT-A-NAME"}, "ga4": {"GA4_KEY": "X"}},
            },
            {"id": "Bad Id", "name": "", "timezone": "UTC", "store_url": "shop.example", "sender": "nobody"},
        ],
        default="south",
    )
    assert message.startswith("brands.yaml:")
    for expected in (
        "brands[1] (lumenleaf): duplicate id 'lumenleaf' (also brands[0])",
        "brands[1] (lumenleaf): unknown vendor 'klavio' (did you mean 'klaviyo'?)",
        "brands[2] (north): timezone 'Europe/Berlni' is not an IANA time zone",
        "brands[2] (north): currency 'eur' must be a three-letter ISO code",
        "brands[2] (north): unknown key 'timzone' (did you mean 'timezone'?)",
        "brands[2] (north): vendors.sendgrid.SENDGRID_API_KEY: 'NOT-A-NAME' is not a valid environment variable name",
        "brands[2] (north): vendors.ga4: 'GA4_KEY' is not one of its variables",
        "brands[3]: id 'Bad Id' must be lowercase letters",
        "brands[3]: name is required",
        "brands[3]: store_url 'shop.example' must be an http(s) URL",
        "brands[3]: sender 'nobody' must be an email address",
        "default: 'south' is not the id of a brand",
    ):
        assert expected in message, (expected, message)


@pytest.mark.parametrize(
    "data, expected",
    [
        (None, "needs a non-empty list under 'brands:'"),
        ({"brands": []}, "needs a non-empty list under 'brands:'"),
        ({"brands": [LUMEN], "brnds": 1}, "unknown key 'brnds' (did you mean 'brands'?)"),
        ({"brands": ["lumenleaf"]}, "brands[0]: must be a mapping"),
        (
            {"brands": [{**LUMEN, "vendors": "klaviyo"}]},
            "vendors must be a list of vendor names or a mapping",
        ),
        (
            {"brands": [{**LUMEN, "env_prefix": "9X"}]},
            "env_prefix '9X' must be empty or start a valid variable",
        ),
    ],
)
def test_malformed_files(data, expected):
    with pytest.raises(SettingsError) as exc:
        bs.parse(data, source="brands.yaml")
    assert expected in str(exc.value)


def test_two_brands_reading_the_same_account_are_refused():
    other = {**LUMEN, "id": "other", "vendors": {"klaviyo": {"KLAVIYO_API_KEY": "KLAVIYO_API_KEY"}}}
    message = errors_of([LUMEN, other])
    assert "brands 'lumenleaf' and 'other' read the same Klaviyo credentials (KLAVIYO_API_KEY)" in message
    # the same variable for a setting that is not the account (a shared key file, say) is fine
    shared = {**LUMEN, "id": "other", "vendors": {"klaviyo": {"KLAVIYO_REVISION": "KLAVIYO_REVISION"}}}
    assert bs.parse({"brands": [LUMEN, shared]}).ids == ("lumenleaf", "other")


def test_invalid_yaml(env, tmp_path):
    (tmp_path / "brands.yaml").write_text("brands: [\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        bs.load()


def test_credentials_per_brand_never_show_their_values(env, tmp_path):
    north = {"id": "northwind", "name": "N", "timezone": "UTC", "vendors": ["klaviyo", "ga4"]}
    env.setenv(bs.BRANDS_FILE, str(write(tmp_path / "b.yaml", [LUMEN, north])))
    env.setenv("KLAVIYO_API_KEY", "pk_lumen_secret")
    env.setenv("NORTHWIND_KLAVIYO_API_KEY", "pk_north_secret")
    env.setenv("NORTHWIND_GA4_PROPERTY_ID", "123")
    brands = bs.load()
    lumen, north = (bs.credentials(brands.get(i)) for i in ("lumenleaf", "northwind"))
    assert lumen["klaviyo"].values == {"api_key": "pk_lumen_secret"}
    assert north["klaviyo"].values == {"api_key": "pk_north_secret"}
    assert "secret" not in repr(lumen) + repr(north)
    # not configured is per brand: lumenleaf has no SendGrid key, northwind no GA4 token
    assert bs.unconfigured(brands.get("lumenleaf")) == {"sendgrid": ["SENDGRID_API_KEY"]}
    assert bs.unconfigured(brands.get("northwind")) == {
        "ga4": ["NORTHWIND_GA4_ACCESS_TOKEN or NORTHWIND_GA4_CREDENTIALS_JSON"]
    }
    env.setenv("NORTHWIND_GA4_CREDENTIALS_JSON", "/keys/north.json")
    assert bs.unconfigured(brands.get("northwind")) == {}
    # Dagster resources get EnvVars of the brand's own variables, resolved when a run starts
    args = bs.resource_args(brands.get("northwind"), "klaviyo")
    assert args == {"api_key": dg.EnvVar("NORTHWIND_KLAVIYO_API_KEY")}


def orders_definitions() -> dg.Definitions:
    """Project-style code: one asset for every brand; nothing in it names a brand."""

    @dg.asset(partitions_def=brand_partitions.build_brand_day_partitions())
    def orders(context) -> None:
        brand, days = brand_partitions.brand_days(context)
        key = bs.credentials(brand)["klaviyo"].values.get("api_key")
        start, _ = brand_partitions.brand_day_bounds(brand, days[0])
        context.add_output_metadata({"brand": brand.id, "api_key_set": bool(key), "start": start.isoformat()})

    return dg.Definitions(assets=[orders])


def test_adding_a_brand_is_a_configuration_change_only(env, tmp_path):
    path = write(tmp_path / "brands.yaml", [LUMEN])
    env.setenv(bs.BRANDS_FILE, str(path))
    now = datetime(2026, 6, 15, 12)

    before = orders_definitions().resolve_assets_def("orders").partitions_def
    assert bs.load().ids == ("lumenleaf",)
    assert not any(k.startswith("kumo|") for k in before.get_partition_keys(current_time=now))

    # the change: one more brand in the file and its variables in the environment, no code
    kumo = {"id": "kumo", "name": "Kumo Ceramics", "timezone": "Asia/Tokyo", "currency": "JPY"}
    write(path, [LUMEN, {**kumo, "vendors": ["klaviyo"]}])
    env.setenv("KUMO_KLAVIYO_API_KEY", "pk_kumo")

    brands = bs.load()
    assert brands.ids == ("lumenleaf", "kumo")
    assert bs.credentials(brands.get("kumo"))["klaviyo"].values == {"api_key": "pk_kumo"}
    assert not bs.credentials(brands.get("lumenleaf"))["klaviyo"].configured

    # the definitions built again (as a code-location reload does) carry the new brand's partitions
    defs = orders_definitions()
    asset = defs.resolve_assets_def("orders")
    keys = asset.partitions_def.get_partition_keys(current_time=now)
    assert "kumo|2026-06-01" in keys and "lumenleaf|2026-06-01" in keys
    assert len(keys) == 2 * 16  # 1 June .. 14 June complete, plus two days ahead (end_offset=2)

    result = dg.materialize([asset], partition_key="kumo|2026-06-03")
    meta = result.asset_materializations_for_node("orders")[0].metadata
    assert meta["brand"].value == "kumo" and meta["api_key_set"].value is True
    # the brand's day is cut in its own zone: midnight in Tokyo is 15:00 UTC the day before
    assert meta["start"].value == "2026-06-03T00:00:00+09:00"


def test_a_run_never_spans_brands(env, tmp_path):
    north = {"id": "northwind", "name": "N", "timezone": "Europe/Berlin", "vendors": []}
    env.setenv(bs.BRANDS_FILE, str(write(tmp_path / "b.yaml", [LUMEN, north])))
    seen = {}

    @dg.asset(partitions_def=brand_partitions.build_brand_day_partitions())
    def daily(context) -> None:
        seen["brand"], seen["days"] = brand_partitions.brand_days(context)
        seen["window"] = context.partition_time_window

    tags = {
        "dagster/asset_partition_range_start": "northwind|2026-06-01",
        "dagster/asset_partition_range_end": "northwind|2026-06-05",
    }
    assert dg.materialize([daily], tags=tags).success
    assert seen["brand"].id == "northwind"
    assert seen["days"] == [date(2026, 6, d) for d in range(1, 6)]
    # the run's time window works on a one-brand range, but it is UTC's, not Berlin's: asset code
    # takes its days from the keys and cuts them with brand_day_bounds
    utc = ZoneInfo("UTC")
    assert (seen["window"].start, seen["window"].end) == (
        datetime(2026, 6, 1, tzinfo=utc),
        datetime(2026, 6, 6, tzinfo=utc),
    )
    start, _ = brand_partitions.brand_day_bounds(seen["brand"], seen["days"][0])
    assert start == datetime(2026, 6, 1, tzinfo=ZoneInfo("Europe/Berlin")) != seen["window"].start
    # a range over two brands (not what a multi-run backfill plans) is refused, not half-served
    with pytest.raises(ValueError, match="covers one brand's days"):
        brand_partitions.brand_days(_Ctx(["lumenleaf|2026-06-01", "northwind|2026-06-01"]))


class _Ctx:
    def __init__(self, keys):
        self.partition_keys = keys
