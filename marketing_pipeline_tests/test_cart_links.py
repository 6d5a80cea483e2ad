"""Recovery and unsubscribe links over HTTP: redirect + click, friendly pages, token storage."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from marketing_pipeline.cart_recovery import links
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.web.app import create_app

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def web():
    with BackgroundServer(create_app()) as server:
        yield server.url


@pytest.fixture(autouse=True)
def brand(monkeypatch):
    monkeypatch.setenv("BRAND_NAME", "Lumen & Leaf")
    monkeypatch.setenv("STORE_URL", "https://shop.lumenleaf.example")


def test_a_recovery_link_redirects_to_the_cart_and_records_the_click(web, warehouse_url, conn):
    token = links.create_link(
        conn,
        "recover",
        "cart-9",
        2,
        "a@example.com",
        "https://shop.lumenleaf.example/cart/restore/cart-9",
        NOW,
        timedelta(days=7),
    )
    assert len(token) >= 32  # 24 random bytes
    r = httpx.get(f"{web}/r/{token}", headers={"User-Agent": "test-browser"})
    assert (
        r.status_code == 303 and r.headers["location"] == "https://shop.lumenleaf.example/cart/restore/cart-9"
    )
    assert conn.execute("SELECT cart_id, step, user_agent FROM ops.recovery_clicks").fetchall() == [
        ("cart-9", 2, "test-browser")
    ]
    # only the hash is stored, never the token
    stored = [h for (h,) in conn.execute("SELECT token_hash FROM ops.recovery_links")]
    assert stored == [links.token_hash(token)] and token not in stored


def test_an_expired_link_shows_a_friendly_page_and_counts_no_click(web, warehouse_url, conn):
    token = links.create_link(
        conn,
        "recover",
        "cart-8",
        1,
        "a@example.com",
        "https://x.example/cart/restore/cart-8",
        NOW - timedelta(days=8),
        timedelta(days=7),
    )
    r = httpx.get(f"{web}/r/{token}")
    assert r.status_code == 410 and "expired" in r.text and "<html" in r.text
    assert "https://shop.lumenleaf.example" in r.text  # a way back to the store
    assert conn.execute("SELECT count(*) FROM ops.recovery_clicks").fetchone()[0] == 0


def test_an_unknown_link_shows_a_friendly_page(web, warehouse_url):
    for path in ("/r/not-a-real-token", "/u/not-a-real-token"):
        r = httpx.get(web + path)
        assert r.status_code == 404 and "does not work" in r.text and "Traceback" not in r.text


def test_unsubscribe_link_records_a_suppression_also_by_one_click_post(web, warehouse_url, conn):
    token = links.create_link(conn, "unsubscribe", "cart-7", 1, "b@example.com", None, NOW, None)
    r = httpx.post(f"{web}/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200 and "unsubscribed" in r.text
    assert conn.execute("SELECT email, source, reason FROM ops.suppressions").fetchall() == [
        ("b@example.com", "recovery_link", "unsubscribed")
    ]
    # a recovery token is not an unsubscribe token and the other way round
    assert httpx.get(f"{web}/r/{token}").status_code == 404


def test_mail_scanner_get_and_head_on_an_unsubscribe_link_change_nothing(web, warehouse_url, conn):
    token = links.create_link(conn, "unsubscribe", "cart-6", 1, "c@example.com", None, NOW, None)
    page = httpx.get(f"{web}/u/{token}")
    assert page.status_code == 200 and 'method="post"' in page.text and f"/u/{token}" in page.text
    assert httpx.head(f"{web}/u/{token}").status_code == 200
    assert conn.execute("SELECT count(*) FROM ops.suppressions").fetchone()[0] == 0
    # the page's button posts back to the same URL
    assert httpx.post(f"{web}/u/{token}").status_code == 200
    assert conn.execute("SELECT email FROM ops.suppressions").fetchall() == [("c@example.com",)]


def test_open_redirect_to_a_foreign_host_goes_to_the_store_instead(web, warehouse_url, conn):
    token = links.create_link(
        conn, "recover", "cart-5", 1, "a@example.com", "https://evil.example/phish", NOW, timedelta(days=7)
    )
    r = httpx.get(f"{web}/r/{token}")
    assert r.status_code == 303 and r.headers["location"] == "https://shop.lumenleaf.example"
