"""The dashboard's JSON: figures equal SQL over the marts, the range changes them, gaps are named;
the chart library is served by the app itself."""

import re
from datetime import date, timedelta

import httpx
import pytest

from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.web.app import create_app
from marketing_pipeline_tests.dashboard_support import signed_in
from marketing_pipeline_tests.marts_fixtures import at, build, cio_click, tiktok_order, website_order

D = date(2025, 6, 1)


PASSWORD = "correct horse battery staple"


@pytest.fixture
def web(conn, monkeypatch):
    monkeypatch.setenv("DASHBOARD_PASSWORD", PASSWORD)
    # two weeks from 06-01 (i = 0..13): a website order every day, a TikTok order when i is even
    # except i = 6; TikTok days without orders count as not loaded
    for i in range(14):
        day = D + timedelta(days=i)
        website_order(
            conn,
            f"W{i}",
            email=f"w{i % 4}@example.com",
            created=at(day),
            total=f"{10 + i}.00",
            utm=("klaviyo", "email", "june") if i % 2 else (None, None, None),
        )
        if i % 2 == 0 and i != 6:
            tiktok_order(
                conn, f"T{i}", user=f"u{i % 3}", email=None, phone=None, created=at(day, 9), total="40.00"
            )
        cio_click(conn, f"d{i}", email=f"w{i % 4}@example.com", clicked=at(day, 8))
    build(conn, D, D + timedelta(days=13), segments_from=D)
    with BackgroundServer(create_app()) as server:
        client = signed_in(server.url, PASSWORD)
        yield client
        client.close()


def test_figures_follow_the_range_and_compare_with_the_previous_period(web):
    last_week = web.get("/dashboard/api/data", params={"start": "2025-06-08", "end": "2025-06-14"}).json()
    cur, prev = last_week["kpis"]["current"], last_week["kpis"]["previous"]
    # website 17..23 (=140) + TikTok on days 8, 10, 12 (3 x 40)
    assert (cur["revenue"], cur["orders"]) == (260, 10)
    # previous week 06-01..06-07: website 10..16 (=91) + TikTok days 0, 2, 4 (day 6 missing)
    assert (prev["revenue"], prev["orders"]) == (211, 10)
    assert last_week["range"]["previous_start"] == "2025-06-01"
    one_day = web.get("/dashboard/api/data", params={"start": "2025-06-14", "end": "2025-06-14"}).json()
    assert one_day["kpis"]["current"]["revenue"] == 23
    tiktok = {r["stage"]: r for r in one_day["funnel"] if r["channel"] == "tiktok"}
    assert tiktok["orders"]["value"] is None and tiktok["orders"]["days_missing"] == 1  # 06-14: not loaded
    assert {r["channel"] for r in last_week["channels"]} == {"website", "tiktok_shop"}
    assert last_week["segments"] and last_week["cohorts"] and last_week["rfm_moves"]
    # every website order that week (i = 7..13) is email last touch: 4 by their own Klaviyo UTM (odd i), 3 by
    # the Customer.io click that morning (even i, no UTM); TikTok buyers have no email to click
    by_platform = {}
    for c in last_week["email_campaigns"]:
        by_platform[c["platform"]] = by_platform.get(c["platform"], 0) + c["orders"]
    assert by_platform == {"klaviyo": 4, "customerio": 3}


def test_incomplete_sources_are_named_for_the_range(web):
    d = web.get("/dashboard/api/data", params={"start": "2025-06-01", "end": "2025-06-14"}).json()
    fresh = {f["source"]: f for f in d["freshness"]}
    # TikTok loaded on 06-01, 03, 05, 09, 11, 13 only
    assert fresh["tiktok_shop"]["missing_days"] == [
        "2025-06-02",
        "2025-06-04",
        "2025-06-06",
        "2025-06-07",
        "2025-06-08",
        "2025-06-10",
        "2025-06-12",
        "2025-06-14",
    ]
    assert fresh["website"]["missing_in_range"] == 0
    assert fresh["tiktok_shop"]["missing_in_range"] == 8


def test_bad_ranges_are_refused_with_a_reason(web):
    r = web.get("/dashboard/api/data", params={"start": "June", "end": "2025-06-14"})
    assert r.status_code == 400 and "start must be a date" in r.json()["error"]
    r = web.get("/dashboard/api/data", params={"start": "2025-06-14", "end": "2025-06-01"})
    assert r.status_code == 400 and "before start" in r.json()["error"]


def test_echarts_is_vendored_and_served_locally(web):
    page = web.get("/dashboard")
    assert page.status_code == 200 and "cdn" not in page.text.lower() and "plotly" not in page.text.lower()
    urls = re.findall(r'\s(?:src|href)="([^"]*)"', page.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls  # nothing off-site
    (src,) = [u for u in urls if u.startswith("/dashboard/static/vendor/echarts.min.js?v=")]
    version = src.split("?v=")[1]

    js = web.get(f"{src}")  # httpx asks for gzip and decodes it
    assert js.status_code == 200 and js.headers["content-encoding"] == "gzip"
    assert js.headers["content-type"].startswith("text/javascript")
    assert "max-age=31536000" in js.headers["cache-control"]
    assert 500_000 < len(js.content) < 3_000_000 and b"Apache Software Foundation" in js.content[:2000]
    # the ?v= that browsers cache by is the version actually vendored
    assert f'version="{version}"'.encode() in js.content
    plain = web.get(f"{src}", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == js.content

    # only the listed files: no license texts, no walking out of the folder, plotly.js is gone
    for path in (
        "/dashboard/static/vendor/echarts.LICENSE",
        "/dashboard/static/vendor/..%2F..%2Fdashboard.py",
        "/dashboard/static/vendor/%2e%2e%2fdashboard.js",
        "/static/plotly.min.js",
    ):
        assert web.get(f"{path}").status_code == 404, path


def test_cart_recovery_results_appear_once_the_mart_has_rows(web, conn):
    conn.execute(
        "INSERT INTO marts.cart_recovery_daily (day, channel, step, carts_abandoned, carts_emailable,"
        " emails_sent, carts_clicked, recovered_carts, recovered_after_click, recovered_without_click,"
        " recovered_revenue, recovery_rate, attribution_days) VALUES"
        " ('2025-06-03', 'website', 0, 20, 16, 30, 6, 4, 3, 1, 180.50, 0.2, 5),"
        " ('2025-06-03', 'website', 1, 16, 16, 16, 4, 3, 2, 1, 120.00, 0.1875, 5)"
    )
    d = web.get("/dashboard/api/data", params={"start": "2025-06-01", "end": "2025-06-07"}).json()
    steps = {r["step"]: r for r in d["cart_recovery"]}
    assert (steps[0]["carts"], steps[0]["recovered"], steps[0]["revenue"], steps[0]["rate"]) == (
        20,
        4,
        180.5,
        0.2,
    )
    assert steps[1]["rate"] == 0.1875
    empty = web.get("/dashboard/api/data", params={"start": "2025-06-08", "end": "2025-06-14"}).json()
    assert empty["cart_recovery"] == []


def test_an_incomplete_stage_is_na_and_no_conversion_comes_from_it(web):
    d = web.get("/dashboard/api/data", params={"start": "2025-06-01", "end": "2025-06-14"}).json()
    for channel in ("tiktok", "website"):
        stages = [r for r in d["funnel"] if r["channel"] == channel]
        for before, r in zip([None, *stages], stages, strict=False):
            if r["days_missing"]:
                assert r["value"] is None and r["conversion"] is None and r["drop_off"] is None
            if before is None or before["value"] is None or r["value"] is None:
                assert r["conversion"] is None  # only between two complete stages
            if r["conversion"] is not None:
                assert 0 <= r["conversion"] <= 1 and abs(r["conversion"] + r["drop_off"] - 1) < 1e-9
    tiktok = {r["stage"]: r for r in d["funnel"] if r["channel"] == "tiktok"}
    # TikTok orders missed 8 days: n/a, with the loaded days' count kept apart
    assert tiktok["orders"]["value"] is None and tiktok["orders"]["covered_value"] == 6
    assert d["kpis"]["current"]["add_to_carts"] is None  # no cart source: n/a, not 0


def test_favicon_and_rfm_snapshot_count_are_served(web):
    icon = web.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    d = web.get("/dashboard/api/data", params={"start": "2025-06-01", "end": "2025-06-14"}).json()
    assert d["rfm_snapshots"]["snapshots"] >= 1 and d["rfm_snapshots"]["latest"] <= "2025-06-14"
    assert '<link rel="icon" href="/favicon.ico"' in web.get("/dashboard").text


def test_dashboard_without_a_session_redirects_to_login_and_its_api_says_401(web):
    anonymous = httpx.Client(base_url=str(web.base_url))
    page = anonymous.get("/dashboard")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/dashboard"
    assert anonymous.get("/").status_code == 303
    assert anonymous.get("/dashboard/api/data").status_code == 401
    assert anonymous.get("/dashboard/static/vendor/echarts.min.js").status_code == 303
    forged = httpx.Client(base_url=str(web.base_url), cookies={"mp_dashboard": "dashboard.forged.sig"})
    assert forged.get("/dashboard/api/data").status_code == 401
    assert web.get("/dashboard/api/data").status_code == 200  # the signed-in client
    web.post("/logout")
    assert web.get("/dashboard/api/data").status_code == 401


def test_dashboard_login_brute_force_is_throttled(web, conn):
    from marketing_pipeline.web import auth

    guesser = httpx.Client(base_url=str(web.base_url))
    codes = [guesser.post("/login", data={"password": f"guess-{i}"}).status_code for i in range(8)]
    assert codes[: auth.MAX_FAILURES_PER_CLIENT] == [401] * auth.MAX_FAILURES_PER_CLIENT
    assert set(codes[auth.MAX_FAILURES_PER_CLIENT :]) == {429}
    # even the right password waits now: the window has to pass
    refused = guesser.post("/login", data={"password": PASSWORD})
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= auth.WINDOW_SECONDS + 1
    # refused attempts are given back: only the five failures count, for this client and in all
    counts = dict(conn.execute("SELECT bucket, attempts FROM ops.login_throttle").fetchall())
    assert counts == {"client:127.0.0.1": auth.MAX_FAILURES_PER_CLIENT, "all": auth.MAX_FAILURES_PER_CLIENT}
    # once the window has passed, the right password goes through and clears this client's count
    conn.execute("UPDATE ops.login_throttle SET window_start = window_start - interval '1 hour'")
    assert guesser.post("/login", data={"password": PASSWORD}).status_code == 303
    assert conn.execute("SELECT bucket, attempts FROM ops.login_throttle").fetchall() == [("all", 0)]


def test_login_redirect_stays_on_this_site(web):
    client = httpx.Client(base_url=str(web.base_url))
    r = client.post("/login", data={"password": PASSWORD, "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"


def test_dashboard_is_locked_without_a_configured_password(web, monkeypatch):
    monkeypatch.delenv("DASHBOARD_PASSWORD")
    assert web.get("/dashboard/api/data").status_code == 401  # the old session no longer counts
    r = web.post("/login", data={"password": ""})
    assert r.status_code == 503 and "DASHBOARD_PASSWORD" in r.text


def test_public_only_app_has_no_dashboard(warehouse_url):
    with BackgroundServer(create_app(dashboard=False)) as server, httpx.Client(base_url=server.url) as public:
        assert public.get("/dashboard").status_code == 404 and public.get("/login").status_code == 404
        assert public.get("/dashboard/api/data").status_code == 404
        assert public.post("/intake/cart-events", json={}).status_code in (401, 503)  # intake is there
    with BackgroundServer(create_app(public=False)) as server, httpx.Client(base_url=server.url) as private:
        assert private.post("/intake/cart-events", json={}).status_code == 404
        assert private.get("/login").status_code in (200, 503)


def test_data_as_of_names_each_fast_source_in_brand_time(conn, monkeypatch):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from marketing_pipeline.web.dashboard_data import data_as_of

    monkeypatch.setenv("BRAND_TIMEZONE", "America/New_York")
    now = datetime(2025, 6, 3, 15, 0, tzinfo=ZoneInfo("America/New_York"))
    tiktok_order(conn, "T1", user="u1", email=None, phone=None, created=at(date(2025, 6, 3), 9), total="9.00")
    conn.execute("UPDATE raw.tiktok_shop_orders SET _loaded_at = '2025-06-03 14:07:00+00'")
    website_order(conn, "W1", email="a@example.com", created=at(date(2025, 5, 1)), total="5.00")  # long ago
    got = {a["source"]: a for a in data_as_of(conn, now)}
    assert got["TikTok Shop orders"]["time"] == "10:07" and got["TikTok Shop orders"]["day"] is None
    assert got["Website orders"]["time"] is None  # nothing loaded for the last three days
    assert set(got) == {"TikTok Shop orders", "Klaviyo events", "Website orders", "Customer.io deliveries"}
