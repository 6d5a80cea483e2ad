"""The dashboard across brands: ``?brand=`` reads that brand's own warehouse only (its money, its
days), an unknown brand is a 404, and the overview shows every brand's own figures side by side,
with failed partitions from the Dagster instance or a note that it is not reachable."""

from __future__ import annotations

import dagster as dg
import httpx
import psycopg
import pytest

from marketing_pipeline import clock
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.warehouse.resource import WarehouseResource
from marketing_pipeline.web.app import create_app
from marketing_pipeline_tests.dashboard_support import NOW, brand_database, load_days

PASSWORD = "brands dashboard password"


@dg.op
def _fails():
    raise RuntimeError("a failed run, for the dashboard to list")


@dg.op
def _works():
    return None


# Real runs under the ingest job's name: the overview reads runs by brand tag, job and partition.
_FAILING = dg.GraphDefinition(name="daily_ingest", node_defs=[_fails]).to_job()
_WORKING = dg.GraphDefinition(name="daily_ingest", node_defs=[_works]).to_job()


def _run(instance: dg.DagsterInstance, tags: dict, *, ok: bool) -> None:
    (_WORKING if ok else _FAILING).execute_in_process(instance=instance, tags=tags, raise_on_error=False)


@pytest.fixture
def two_brands_loaded(three_brands, warehouse_url, pg_server_url, template_db, conn, monkeypatch, tmp_path):
    """lumenleaf (default) and northwind loaded with different figures; kumo has no warehouse yet."""
    monkeypatch.setenv("DASHBOARD_PASSWORD", PASSWORD)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setattr(clock, "now", lambda: NOW)
    WarehouseResource().prepare()  # claims the default brand's warehouse for lumenleaf, as a run does
    load_days(conn, "lumenleaf")
    northwind_url = brand_database(pg_server_url, template_db, warehouse_url, "northwind")
    with psycopg.connect(northwind_url, autocommit=True) as nw:
        load_days(nw, "northwind")
    with BackgroundServer(create_app()) as server:
        client = httpx.Client(base_url=server.url)
        assert client.post("/login", data={"password": PASSWORD}).status_code == 303
        yield client
        client.close()


def test_the_brand_in_the_url_picks_its_warehouse_money_and_days(two_brands_loaded):
    web = two_brands_loaded
    week = {"start": "2025-06-08", "end": "2025-06-14"}
    default = web.get("/dashboard/api/data", params=week).json()
    lumen = web.get("/dashboard/api/data", params={**week, "brand": "lumenleaf"}).json()
    north = web.get("/dashboard/api/data", params={**week, "brand": "northwind"}).json()
    assert default["brand"]["id"] == "lumenleaf" and default["kpis"] == lumen["kpis"]
    assert (lumen["brand"]["currency"], lumen["brand"]["timezone"]) == ("USD", "UTC")
    assert (north["brand"]["currency"], north["brand"]["timezone"]) == ("EUR", "Europe/Berlin")
    # 7 days x (7 + 21) for northwind, 7 x (10 + 40) for lumenleaf
    assert (north["kpis"]["current"]["revenue"], north["kpis"]["current"]["orders"]) == (196, 14)
    assert (lumen["kpis"]["current"]["revenue"], lumen["kpis"]["current"]["orders"]) == (350, 14)
    assert [b["id"] for b in north["brands"]] == ["lumenleaf", "northwind", "kumo"]
    # nothing of lumenleaf's reaches northwind's figures: no campaign, channel day or revenue of it
    assert all(r["revenue"] in (7, 21) for r in north["channels"])
    assert "lumenleaf" not in str(north["kpis"]) and lumen["channels"] != north["channels"]
    # the default range ends on the brand's own yesterday with sales (06-14), in its zone
    north_default = web.get("/dashboard/api/data", params={"brand": "northwind"}).json()
    assert north_default["range"]["end"] == "2025-06-14"


def test_an_unknown_brand_is_a_404_naming_the_brands(two_brands_loaded):
    web = two_brands_loaded
    r = web.get("/dashboard/api/data", params={"brand": "acme"})
    assert (
        r.status_code == 404
        and "unknown brand 'acme'" in r.json()["error"]
        and "northwind" in r.json()["error"]
    )
    page = web.get("/dashboard", params={"brand": "acme"})
    assert page.status_code == 404 and "unknown brand" in page.text and "<script" not in page.text
    assert web.get("/dashboard", params={"brand": "northwind"}).status_code == 200
    assert web.get("/dashboard", params={"brand": "<b>x</b>"}).text.count("<b>x</b>") == 0  # escaped


def test_a_brand_without_a_warehouse_shows_no_data_not_an_error(two_brands_loaded):
    r = two_brands_loaded.get("/dashboard/api/data", params={"brand": "kumo"})
    assert r.status_code == 200
    d = r.json()
    assert d["brand"]["currency"] == "AUD" and "no warehouse yet" in d["no_data"] and "kpis" not in d


def test_overview_shows_each_brands_own_figures_and_failed_partitions(two_brands_loaded, tmp_path):
    instance = dg.DagsterInstance.get()  # DAGSTER_HOME: the test's own instance
    tags = {"dagster/partition/brand": "northwind", "dagster/partition/day": "2025-06-14"}
    tags["dagster/partition"] = "northwind|2025-06-14"
    _run(instance, tags, ok=False)
    # a partition that failed, then succeeded: not failed any more
    again = {**tags, "dagster/partition/day": "2025-06-13", "dagster/partition": "northwind|2025-06-13"}
    _run(instance, again, ok=False)
    _run(instance, again, ok=True)
    lumen_ok = {"dagster/partition/brand": "lumenleaf", "dagster/partition": "lumenleaf|2025-06-14"}
    _run(instance, lumen_ok, ok=True)

    d = two_brands_loaded.get("/dashboard/api/brands").json()
    assert d["dagster"] == {"reachable": True, "message": None}
    by = {b["id"]: b for b in d["brands"]}
    assert list(by) == ["lumenleaf", "northwind", "kumo"]
    lumen, north, kumo = by["lumenleaf"], by["northwind"], by["kumo"]
    # last 7 days: 06-08..06-14; last 30: 05-16..06-14 (all 14 loaded days)
    assert [(w["days"], w["revenue"], w["orders"]) for w in lumen["windows"]] == [(7, 350, 14), (30, 700, 28)]
    assert [(w["days"], w["revenue"], w["orders"]) for w in north["windows"]] == [(7, 196, 14), (30, 392, 28)]
    assert (lumen["currency"], north["currency"], kumo["currency"]) == ("USD", "EUR", "AUD")
    assert north["windows"][0]["end"] == "2025-06-14" and north["today"] == "2025-06-15"
    fresh = {f["source"]: f for f in north["freshness"]}
    assert fresh["website"]["last_loaded_day"] == "2025-06-14" and fresh["website"]["days_behind"] == 0
    assert (lumen["status"], north["status"]) == ("ok", "ok")
    assert (
        kumo["status"] == "no warehouse" and kumo["windows"] == [] and "no warehouse yet" in kumo["message"]
    )
    assert north["failed"]["count"] == 1
    assert [(p["job"], p["partition"]) for p in north["failed"]["partitions"]] == [
        ("daily_ingest", "2025-06-14")
    ]
    assert lumen["failed"] == {"count": 0, "partitions": []} and kumo["failed"]["count"] == 0


def test_overview_says_when_dagster_is_not_reachable(two_brands_loaded, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME")
    r = two_brands_loaded.get("/dashboard/api/brands")
    assert r.status_code == 200
    d = r.json()
    assert d["dagster"]["reachable"] is False and "DAGSTER_HOME" in d["dagster"]["message"]
    by = {b["id"]: b for b in d["brands"]}
    assert by["northwind"]["failed"] is None and by["northwind"]["windows"][0]["revenue"] == 196


def test_a_brand_with_an_empty_warehouse_shows_no_data(
    two_brands_loaded, pg_server_url, template_db, warehouse_url
):
    brand_database(pg_server_url, template_db, warehouse_url, "kumo")
    by = {b["id"]: b for b in two_brands_loaded.get("/dashboard/api/brands").json()["brands"]}
    assert by["kumo"]["status"] == "no data" and by["kumo"]["has_data"] is False
    assert [w["revenue"] for w in by["kumo"]["windows"]] == [0, 0]
    d = two_brands_loaded.get("/dashboard/api/data", params={"brand": "kumo"}).json()
    assert d["kpis"]["current"]["revenue"] == 0 and d["brand"]["currency"] == "AUD"


def test_a_database_holding_another_brand_is_refused(two_brands_loaded, monkeypatch, warehouse_url):
    monkeypatch.setenv("KUMO_MARKETING_DATABASE_URL", warehouse_url)  # lumenleaf's warehouse
    r = two_brands_loaded.get("/dashboard/api/data", params={"brand": "kumo"})
    assert r.status_code == 409 and "holds brand 'lumenleaf'" in r.json()["error"]
    by = {b["id"]: b for b in two_brands_loaded.get("/dashboard/api/brands").json()["brands"]}
    assert by["kumo"]["status"] == "error" and "windows" in by["kumo"] and by["kumo"]["windows"] == []


def test_overview_and_switch_need_the_login(two_brands_loaded):
    anonymous = httpx.Client(base_url=str(two_brands_loaded.base_url))
    assert anonymous.get("/dashboard/api/brands").status_code == 401
    assert anonymous.get("/dashboard/brands").status_code == 303
    assert anonymous.get("/dashboard/api/data", params={"brand": "northwind"}).status_code == 401


def test_signing_in_returns_to_the_brand_asked_for(two_brands_loaded):
    anonymous = httpx.Client(base_url=str(two_brands_loaded.base_url))
    r = anonymous.get("/dashboard", params={"brand": "northwind"})
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/dashboard%3Fbrand%3Dnorthwind"
    form = anonymous.get(r.headers["location"])
    assert 'name="next" value="/dashboard?brand=northwind"' in form.text
    signed = anonymous.post("/login", data={"password": PASSWORD, "next": "/dashboard?brand=northwind"})
    assert signed.status_code == 303 and signed.headers["location"] == "/dashboard?brand=northwind"
