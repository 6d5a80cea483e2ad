"""Shared pieces of the dashboard tests (no tests here): a signed-in client, and two brands'
warehouses with figures no other brand has."""

from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg

from marketing_pipeline.warehouse.resource import WarehouseResource
from marketing_pipeline_tests.marts_fixtures import at, build, tiktok_order, website_order


def signed_in(base_url: str, password: str) -> httpx.Client:
    """A client of the dashboard at ``base_url``, signed in."""
    client = httpx.Client(base_url=base_url)
    r = client.post("/login", data={"password": password, "next": "/dashboard"})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard" and "mp_dashboard" in client.cookies
    return client


D = date(2025, 6, 1)  # data: 06-01 .. 06-14
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)

# per brand: (website order total, TikTok order total, orders per day): figures no other brand has
DATA = {"lumenleaf": ("10.00", "40.00"), "northwind": ("7.00", "21.00")}


def load_days(conn: psycopg.Connection, brand_id: str) -> None:
    web_total, tiktok_total = DATA[brand_id]
    for i in range(14):
        day = D + timedelta(days=i)
        website_order(
            conn, f"{brand_id}-W{i}", email=f"{brand_id}{i % 3}@example.com", created=at(day), total=web_total
        )
        tiktok_order(
            conn,
            f"{brand_id}-T{i}",
            user=f"{brand_id}-u{i % 2}",
            email=None,
            phone=None,
            created=at(day, 9),
            total=tiktok_total,
        )
    build(conn, D, D + timedelta(days=13), segments_from=D)


def brand_database(pg_server_url: str, template_db: str, warehouse_url: str, brand_id: str) -> str:
    """The brand's warehouse beside the test's (as ``engine.beside`` names it), from the migrated template."""
    name = psycopg.conninfo.conninfo_to_dict(warehouse_url)["dbname"] + "_" + brand_id
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    return WarehouseResource().for_brand(brand_id).url()  # claimed for the brand, as a run does
