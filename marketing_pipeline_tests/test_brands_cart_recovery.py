"""Many brands, from the storefront to the inbox: the write key picks the brand's warehouse, each
brand's sensor and recovery runs work in that warehouse only, and the email goes out through the
brand's own SendGrid account with its name, address, sender, store and currency. Over loopback
HTTP against the sandbox's three brands (``three_brands``)."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import httpx
import psycopg
import pytest

from marketing_pipeline.cart_recovery import runner
from marketing_pipeline.sandbox import brands as sandbox_brands
from marketing_pipeline.sandbox.customerio.webhook_sender import signed_headers
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sources.tiktok_shop.signing import sign_webhook
from marketing_pipeline.warehouse import WarehouseResource, database_url
from marketing_pipeline.warehouse.engine import libpq_url
from marketing_pipeline.web.app import create_app

AT = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
LINK = re.compile(r"/r/(?:[a-z_]+/)?([A-Za-z0-9_-]{20,})")


@pytest.fixture
def brands(warehouse_url, three_brands):
    """The three brands, each warehouse brought up (created beside the test's database, migrated)."""
    warehouse = WarehouseResource()
    for b in three_brands:
        warehouse.for_brand(b)
    return three_brands


@pytest.fixture
def web(brands):
    with BackgroundServer(create_app(dashboard=False)) as server:
        yield server.url


def url_of(brand) -> str:
    return libpq_url(database_url(brand=brand))


def rows(brand, sql: str, *args) -> list[tuple]:
    with psycopg.connect(url_of(brand)) as conn:
        return conn.execute(sql, args).fetchall()


def cart_ids(brand) -> set[str]:
    return {r[0] for r in rows(brand, "SELECT cart_id FROM ops.carts")}


def cart_events(cart: str, email: str, with_currency: bool = False) -> list[dict]:
    def ev(n: int, kind: str, **kw) -> dict:
        return {
            "event_id": f"{cart}-e{n:02d}",
            "type": kind,
            "cart_id": cart,
            "occurred_at": (AT + timedelta(minutes=n)).isoformat(),
            **({"currency": "USD"} if with_currency else {}),
            **kw,
        }

    tea = {"sku_id": "T1", "name": "Sencha", "variant": "100 g", "unit_price": "12.50", "quantity": 2}
    return [ev(1, "cart_created"), ev(2, "item_added", item=tea), ev(3, "contact_identified", email=email)]


def post(web: str, key: str, events: list[dict]) -> httpx.Response:
    return httpx.post(
        f"{web}/intake/cart-events", json=events, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def key_of(brand) -> str:
    return sandbox_brands.website_write_key(brand)


def sent_mail(base_url: str, brand, cart: str | None = None) -> list[dict]:
    url = f"{sandbox_brands.brand_url(brand, base_url)}/sendgrid/_sandbox/messages"
    mails = [m["body"] for m in httpx.get(url, timeout=10).json()]
    return [m for m in mails if cart is None or m["personalizations"][0]["custom_args"]["cart_id"] == cart]


def test_carts_land_only_in_the_warehouse_of_the_brand_whose_key_posted_them(web, brands):
    north, lumen = brands.get("northwind"), brands.default
    a, b = f"nw-{uuid.uuid4().hex[:8]}", f"ll-{uuid.uuid4().hex[:8]}"
    assert post(web, key_of(north), cart_events(a, "anna@example.com")).status_code == 202
    one = cart_events(b, "ben@example.com")[0]  # a lone event takes the async path
    assert post(web, key_of(lumen), [one]).status_code == 202
    assert a in cart_ids(north) and a not in cart_ids(lumen) and a not in cart_ids(brands.get("kumo"))
    assert b in cart_ids(lumen) and b not in cart_ids(north)
    # an event without a currency is in the brand's: Northwind sells in euros
    assert rows(north, "SELECT currency FROM ops.carts WHERE cart_id = %s", a) == [("EUR",)]
    assert rows(lumen, "SELECT currency FROM ops.carts WHERE cart_id = %s", b) == [("USD",)]
    # a key that is no brand's is refused and stored nowhere
    c = f"xx-{uuid.uuid4().hex[:8]}"
    assert post(web, "wk_not_a_brand", cart_events(c, "x@example.com")).status_code == 401
    assert all(c not in cart_ids(x) for x in brands)
    # a bad body is kept in the dead letters of the brand that posted it, not another's
    assert post(web, key_of(north), [{"type": "nonsense"}]).status_code == 400
    assert rows(north, "SELECT count(*) FROM ops.dead_letters")[0][0] == 1
    assert rows(lumen, "SELECT count(*) FROM ops.dead_letters")[0][0] == 0


def test_one_key_given_to_two_brands_refuses_every_post(web, brands, monkeypatch):
    monkeypatch.setenv("NORTHWIND_WEBSITE_WRITE_KEY", key_of(brands.default))
    cart = f"dup-{uuid.uuid4().hex[:8]}"
    r = post(web, key_of(brands.default), cart_events(cart, "d@example.com"))
    assert r.status_code == 503 and key_of(brands.default) not in r.text
    assert all(cart not in cart_ids(b) for b in brands)


def test_a_northwind_cart_is_emailed_as_northwind_through_its_own_sendgrid_once(web, brands, brands_sandbox):
    _, base = brands_sandbox
    north, lumen = brands.get("northwind"), brands.default
    a, b = f"nw-{uuid.uuid4().hex[:8]}", f"ll-{uuid.uuid4().hex[:8]}"
    assert post(web, key_of(north), cart_events(a, f"{a}@example.com")).status_code == 202
    assert post(web, key_of(lumen), cart_events(b, f"{b}@example.com", with_currency=True)).status_code == 202
    now = AT + timedelta(minutes=3 + 31)
    job = runner.recovery_job()
    with dg.instance_for_test() as instance:
        runs = {}
        for brand in (north, lumen, brands.get("kumo")):
            _, runs[brand.id] = runner.advance(instance, now, None, job, brand=brand)
        # each brand's sensor found its own cart only
        assert [(r.cart_id, r.step, r.status, r.brand) for r in runs["northwind"]] == [
            (a, 1, "sent", "northwind")
        ]
        assert [(r.cart_id, r.status) for r in runs["lumenleaf"]] == [(b, "sent")]
        assert runs["kumo"] == []
        run = instance.get_run_by_id(runs["northwind"][0].run_id)
        assert run.tags["brand"] == "northwind"
        # the same step again (a retried or duplicated run) sends nothing
        requests, _ = runner.tick(instance, now, None, north)
        assert requests == []  # handed over already: the outbox row is no longer requested
        again = runner.execute(
            instance,
            dg.RunRequest(
                run_key="retry",
                run_config={
                    "ops": {runner.RECOVERY_OP: {"config": {"brand": "northwind", "cart_id": a, "step": 1}}}
                },
            ),
            job,
        )
        assert again.status == "already_sent"
    mails = sent_mail(base, north, a)
    assert len(mails) == 1 and sent_mail(base, north, b) == []
    assert sent_mail(base, lumen, a) == [] and len(sent_mail(base, lumen, b)) == 1
    mail = mails[0]
    html, text = mail["content"][1]["value"], mail["content"][0]["value"]
    assert mail["from"] == {"email": "hallo@northwind-tea.example", "name": "Northwind Tea"}
    assert "Northwind Tea GmbH, Torstrasse 1, 10119 Berlin, Germany" in text
    assert "25.00 EUR" in text and "$" not in text
    assert "Lumen" not in html + text and "lumenleaf" not in html + text
    # the link names the brand and points at Northwind's store, through its own warehouse
    link = re.search(r"(/r/northwind/[A-Za-z0-9_-]{20,})", text).group(1)
    token = link.rsplit("/", 1)[1]
    r = httpx.get(f"{web}{link}", follow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["location"].startswith("https://shop.northwind-tea.example/")
    assert rows(north, "SELECT count(*) FROM ops.recovery_clicks")[0][0] == 1
    assert rows(lumen, "SELECT count(*) FROM ops.recovery_clicks")[0][0] == 0
    # the same token under the default brand's path or another brand's is not found there
    assert httpx.get(f"{web}/r/{token}", timeout=10).status_code == 404
    assert httpx.get(f"{web}/r/kumo/{token}", timeout=10).status_code == 404
    # unsubscribing suppresses the address in Northwind's warehouse only
    unsub = re.search(r"/u/northwind/([A-Za-z0-9_-]{20,})", text).group(0)
    assert httpx.post(f"{web}{unsub}", timeout=10).status_code == 200
    assert (
        rows(north, "SELECT count(*) FROM ops.suppressions WHERE email = %s", f"{a}@example.com")[0][0] == 1
    )
    assert (
        rows(lumen, "SELECT count(*) FROM ops.suppressions WHERE email = %s", f"{a}@example.com")[0][0] == 0
    )


def test_the_recovery_report_is_per_brand(web, brands):
    north, lumen = brands.get("northwind"), brands.default
    a = f"nw-{uuid.uuid4().hex[:8]}"
    assert post(web, key_of(north), cart_events(a, f"{a}@example.com")).status_code == 202
    from marketing_pipeline.cart_recovery.reporting import cart_recovery_daily

    with psycopg.connect(url_of(north), autocommit=True) as conn:  # abandoned: idle past the threshold
        conn.execute("UPDATE ops.carts SET abandoned_at = last_activity_at WHERE cart_id = %s", (a,))
    for brand in (north, lumen):
        result = dg.materialize(
            [cart_recovery_daily], resources={"warehouse": WarehouseResource()}, partition_key=brand.id
        )
        assert result.success
        meta = result.asset_materializations_for_node("cart_recovery_daily")[0].metadata
        assert meta["brand"].value == brand.id and meta["currency"].value == brand.currency
        assert meta["carts_abandoned"].value == (1 if brand is north else 0)


def test_webhooks_are_checked_with_the_key_of_the_brand_their_url_names(web, brands, monkeypatch):
    north, lumen = brands.get("northwind"), brands.default
    body = (
        b'{"event_id": "01HNW0000000000000000000", "object_type": "email", "metric": "unsubscribed",'
        b' "timestamp": %d, "data": {"identifiers": {"email": "nw@example.com"}, "delivery_id": "d1"}}'
        % int(datetime.now(UTC).timestamp())
    )
    north_key = sandbox_brands.environ(base_url="http://x")["NORTHWIND_CUSTOMERIO_WEBHOOK_SIGNING_KEY"]
    signed = signed_headers(north_key, body)
    # signed for Northwind: refused at the default brand's URLs and Kumo's (no Customer.io), stored at Northwind's
    assert httpx.post(f"{web}/webhooks/customerio", content=body, headers=signed).status_code == 401
    assert httpx.post(f"{web}/webhooks/lumenleaf/customerio", content=body, headers=signed).status_code == 401
    assert httpx.post(f"{web}/webhooks/kumo/customerio", content=body, headers=signed).status_code == 404
    r = httpx.post(f"{web}/webhooks/northwind/customerio", content=body, headers=signed)
    assert r.status_code == 200 and r.json()["stored"] is True
    count = "SELECT count(*) FROM raw.customerio_webhook_events"
    assert rows(north, count)[0][0] == 1 and rows(lumen, count)[0][0] == 0
    assert dict(rows(lumen, "SELECT counter, count FROM ops.customerio_webhook_counters")) == {
        "bad_signature": 2
    }
    # TikTok Shop: a body signed with the default brand's app is refused at Northwind's URL
    monkeypatch.setenv("NORTHWIND_TIKTOK_SHOP_APP_SECRET", "northwind-own-secret")
    tiktok = b'{"type": 1, "data": {"order_id": "576000000000000001", "order_status": "UNPAID"}}'
    header = {"Authorization": sign_webhook("sandbox-app-key", "sandbox-app-secret", tiktok)}
    assert (
        httpx.post(f"{web}/webhooks/northwind/tiktok-shop", content=tiktok, headers=header).status_code == 401
    )
    assert (
        httpx.post(f"{web}/webhooks/nosuchbrand/tiktok-shop", content=tiktok, headers=header).status_code
        == 404
    )


def test_import_orders_with_brand_writes_that_brands_warehouse_on_its_calendar(brands, tmp_path, capsys):
    from marketing_pipeline import cli
    from marketing_pipeline_tests.website_support import csv_row, write_orders_csv

    path = tmp_path / "orders.csv"
    write_orders_csv(path, [csv_row("NW1", created_at="2025-03-01T23:30:00Z")])  # 00:30 on the 2nd in Berlin
    assert cli.main(["import-orders", str(path), "--brand", "northwind"]) == 0
    assert "northwind: imported 1 orders" in capsys.readouterr().out
    north, lumen = brands.get("northwind"), brands.default
    day = "SELECT order_id, partition_date::text FROM raw.website_orders"
    assert rows(north, day) == [("NW1", "2025-03-02")] and rows(lumen, day) == []
    assert cli.main(["import-orders", str(path), "--brand", "nosuch"]) == 2
    assert "unknown brand 'nosuch'" in capsys.readouterr().err


def test_every_brand_has_its_own_sensor_and_report_partition(three_brands):
    from marketing_pipeline.cart_recovery import definitions

    defs = definitions.defs
    sensors = {s.name for s in defs.sensors}
    assert sensors == {
        "abandoned_cart_sensor",
        "abandoned_cart_sensor_northwind",
        "abandoned_cart_sensor_kumo",
    }
    report = next(a for a in defs.assets if "cart_recovery_daily" in {k.to_user_string() for k in a.keys})
    assert report.partitions_def.get_partition_keys() == ["lumenleaf", "northwind", "kumo"]
