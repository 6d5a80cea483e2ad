"""Each brand's warehouse is a database of its own, claimed by that brand; vendor resources per brand."""

from __future__ import annotations

import psycopg
import pytest
import yaml

from marketing_pipeline.brand_resources import for_brand
from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings import brands as bs
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline.warehouse import brand as warehouse_brand
from marketing_pipeline.warehouse.brand import WarehouseBrandError

BRANDS = [
    {"id": "lumenleaf", "name": "Lumen & Leaf", "timezone": "UTC"},
    {"id": "northwind", "name": "Northwind Tea", "timezone": "Europe/Berlin", "vendors": ["klaviyo"]},
]


@pytest.fixture
def two_brands(tmp_path, monkeypatch):
    path = tmp_path / "brands.yaml"
    path.write_text(yaml.safe_dump({"brands": BRANDS}))
    monkeypatch.setenv(bs.BRANDS_FILE, str(path))
    monkeypatch.delenv("NORTHWIND_MARKETING_DATABASE_URL", raising=False)
    return bs.load()


def dbname(url: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(url)["dbname"]


def test_each_brand_gets_its_own_database_claimed_for_it(warehouse_url, two_brands):
    default = WarehouseResource()
    assert default.brand().id == "lumenleaf" and default.url() == warehouse_url
    nw = default.for_brand("northwind")
    assert dbname(nw.url()) == dbname(warehouse_url) + "_northwind"
    with nw.connection() as conn:
        assert conn.execute("SELECT count(*) FROM ops.schema_migrations").fetchone()[0] > 0
    assert warehouse_brand.recorded(nw.url()) == "northwind"
    # the default brand's resource is itself; its warehouse is claimed when it is first prepared
    assert default.for_brand(two_brands.default) is default
    default.prepare()
    assert warehouse_brand.recorded(warehouse_url) == "lumenleaf"
    # a brand pointed at another brand's database is refused, naming the variable to fix
    with pytest.raises(WarehouseBrandError, match="holds brand 'northwind'.*KUMO_MARKETING_DATABASE_URL"):
        kumo = bs.Brand(
            id="kumo", name="Kumo", timezone="UTC", warehouse_variable="KUMO_MARKETING_DATABASE_URL"
        )
        warehouse_brand.claim(nw.url(), kumo)


def test_a_brands_own_variable_wins(warehouse_url, two_brands, monkeypatch):
    monkeypatch.setenv("NORTHWIND_MARKETING_DATABASE_URL", warehouse_url)
    assert WarehouseResource(brand_id="northwind").url() == warehouse_url


def test_the_default_brand_of_a_file_takes_over_a_single_brand_warehouse(
    warehouse_url, monkeypatch, tmp_path
):
    monkeypatch.delenv(bs.BRANDS_FILE, raising=False)
    monkeypatch.setattr(bs, "PROJECT_ROOT", tmp_path)
    WarehouseResource().prepare()
    assert warehouse_brand.recorded(warehouse_url) == bs.DEFAULT_ID
    path = tmp_path / "brands.yaml"
    path.write_text(yaml.safe_dump({"brands": BRANDS}))
    WarehouseResource().prepare()
    assert warehouse_brand.recorded(warehouse_url) == "lumenleaf"
    # ... but not another brand
    with pytest.raises(WarehouseBrandError):
        warehouse_brand.claim(warehouse_url, bs.load().get("northwind"))


def test_two_brands_cannot_share_a_warehouse_variable():
    with pytest.raises(SettingsError, match="same warehouse variable SHARED_URL"):
        bs.parse({"brands": [{**b, "warehouse": "SHARED_URL"} for b in BRANDS]})


def test_a_vendor_resource_for_another_brand_takes_that_brands_account(two_brands, monkeypatch):
    monkeypatch.setenv("NORTHWIND_KLAVIYO_API_KEY", "nw-key")
    monkeypatch.setenv("NORTHWIND_KLAVIYO_BASE_URL", "http://127.0.0.1:9/brands/northwind/klaviyo")
    mine = KlaviyoResource(base_url="http://127.0.0.1:9/klaviyo", api_key="lumen-key", timeout_seconds=3)
    assert for_brand(mine, two_brands.default, "klaviyo") is mine
    theirs = for_brand(mine, two_brands.get("northwind"), "klaviyo")
    assert (theirs.api_key, theirs.base_url, theirs.timeout_seconds) == (
        "nw-key",
        "http://127.0.0.1:9/brands/northwind/klaviyo",
        3,
    )
    # an unset variable of the brand falls back to the resource's own default, never to another brand's
    monkeypatch.delenv("NORTHWIND_KLAVIYO_API_KEY")
    assert for_brand(mine, two_brands.get("northwind"), "klaviyo").api_key == ""
    with pytest.raises(SettingsError, match="does not use 'sendgrid'"):
        for_brand(mine, two_brands.get("northwind"), "sendgrid")


def test_migrate_brings_every_brands_warehouse_up(warehouse_url, two_brands, capsys):
    from marketing_pipeline.cli import main

    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert "lumenleaf: applied 0 migration(s)" in out  # the test database is migrated already
    assert "northwind: applied" in out and "northwind: applied 0" not in out
    northwind = WarehouseResource(brand_id="northwind").url()
    with psycopg.connect(northwind) as conn:
        assert conn.execute("SELECT to_regclass('marts.customer_segments') IS NOT NULL").fetchone()[0]
