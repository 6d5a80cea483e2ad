"""The sandbox's three generated brands: each its own world, served beside the single-brand one."""

from __future__ import annotations

import statistics
from datetime import timedelta

import httpx
import pytest

from marketing_pipeline.sandbox import brands as sandbox_brands
from marketing_pipeline.sandbox import credentials
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline_tests.conftest import TODAY

WEEK = [TODAY - timedelta(days=d) for d in range(1, 8)]


@pytest.fixture(scope="module")
def brands():
    return sandbox_brands.load()


def test_three_brands_of_different_sizes_and_zones(brands):
    assert brands.ids == ("lumenleaf", "northwind", "kumo") and brands.default.id == "lumenleaf"
    assert len({b.timezone for b in brands}) == 3
    scales = [b.extensions["x-sandbox"]["scale"] for b in brands]
    assert scales == sorted(scales, reverse=True) and len(set(scales)) == 3


def test_the_default_brand_is_the_single_brand_sandbox_unchanged(brands):
    mine, single = sandbox_brands.world(brands.default, TODAY), World(seed=7, today=TODAY)
    assert (mine.brand, mine.brand_address, mine.store_url) == (
        single.brand,
        single.brand_address,
        single.store_url,
    )
    for day in WEEK[:3]:
        a, b = mine.orders_on(day), single.orders_on(day)
        assert [(o.order_id, o.created_at, o.total, o.customer.email) for o in a] == [
            (o.order_id, o.created_at, o.total, o.customer.email) for o in b
        ]


def test_each_brand_generates_its_own_data(brands):
    worlds = {b.id: sandbox_brands.world(b, TODAY) for b in brands}
    counts = {i: sum(len(w.orders_on(d)) for d in WEEK) for i, w in worlds.items()}
    assert counts["lumenleaf"] > counts["northwind"] > counts["kumo"] > 0
    emails = {i: {c.email for c in w.customers[:200]} for i, w in worlds.items()}
    assert emails["lumenleaf"] != emails["northwind"] != emails["kumo"]
    nw = worlds["northwind"]
    order = nw.orders_on(WEEK[0])[0]
    assert order.currency == "EUR" and order.lines[0].product.brand == "Northwind Tea"
    assert order.lines[0].product.image_url.startswith("https://shop.northwind-tea.example/")

    # the same daily rhythm on each brand's own clock: the median local hour of an order agrees
    def median_local_hour(w: World) -> float:
        return statistics.median(o.created_at.astimezone(w.tz).hour for d in WEEK for o in w.orders_on(d))

    assert abs(median_local_hour(nw) - median_local_hour(worlds["lumenleaf"])) <= 1
    assert abs(median_local_hour(worlds["kumo"]) - median_local_hour(worlds["lumenleaf"])) <= 1
    # (without the shift Sydney's local median would sit ten hours later, Berlin's two)


def test_each_brand_reaches_its_own_world_through_its_own_variables(brands):
    served = sandbox_brands.build_all(brands, today=TODAY)
    with BackgroundServer(served["app"]) as server:
        env = sandbox_brands.environ(brands, server.url)
        # the default brand's variables are exactly the single-brand sandbox's
        assert {k: env[k] for k in credentials.environ(server.url)} == credentials.environ(server.url)
        assert env["KLAVIYO_API_KEY"] == credentials.KLAVIYO_API_KEY
        seen = {}
        for brand in brands:
            creds = brand_settings.credentials(brand, env)
            assert all(c.configured for c in creds.values()), brand_settings.unconfigured(brand, env)
            ga4 = creds["ga4"].values
            root = ga4["base_url"].removesuffix("/ga4")
            assert httpx.get(root + "/", timeout=60).json()["brand"] == brand.name
            r = httpx.post(
                f"{ga4['base_url']}/v1beta/properties/{ga4['property_id']}:runReport",
                headers={"Authorization": f"Bearer {ga4['access_token']}"},
                timeout=120,
                json={
                    "dateRanges": [{"startDate": WEEK[2].isoformat(), "endDate": WEEK[0].isoformat()}],
                    "dimensions": [{"name": "date"}],
                    "metrics": [{"name": "sessions"}],
                },
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["metadata"]["timeZone"] == brand.timezone
            assert body["metadata"]["currencyCode"] == brand.currency
            seen[brand.id] = sum(int(row["metricValues"][0]["value"]) for row in body["rows"])
        # kumo does not use Customer.io: its file lists its vendors
        assert "KUMO_CUSTOMERIO_APP_API_KEY" not in env and "NORTHWIND_CUSTOMERIO_APP_API_KEY" in env
        assert seen["lumenleaf"] > seen["northwind"] > seen["kumo"] > 0


def test_sandbox_mode_serves_the_three_brands_whatever_brands_file_was_named(monkeypatch, tmp_path):
    from marketing_pipeline.sandbox import launch

    env = launch.environ("http://127.0.0.1:9")
    assert env["MARKETING_BRANDS_FILE"] == str(sandbox_brands.BRANDS_FILE)
    monkeypatch.setenv("MARKETING_BRANDS_FILE", str(tmp_path / "someone-elses.yaml"))
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    served = brand_settings.load()
    assert served.ids == ("lumenleaf", "northwind", "kumo")
    nw = served.get("northwind").vendor("klaviyo").values()
    assert nw["base_url"] == "http://127.0.0.1:9/brands/northwind/klaviyo"
