"""Customer.io reporting webhooks over real HTTP: signatures, replays, malformed bodies, suppression."""

import json
import time

import httpx
import pytest

from marketing_pipeline.sandbox.customerio.webhook_sender import reporting_events, send_events, signed_headers
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.sources.customerio.signing import sign
from marketing_pipeline.web.app import create_app
from marketing_pipeline_tests.conftest import TODAY, recent_day

KEY = "test-signing-key"


@pytest.fixture(scope="module")
def web():
    with BackgroundServer(create_app()) as server:  # the key is read per request, not when the app is built
        yield server.url + "/webhooks/customerio"


@pytest.fixture
def signed(monkeypatch, warehouse_url):
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SIGNING_KEY", KEY)


@pytest.fixture(scope="module")
def events():
    return list(reporting_events(World(seed=7, today=TODAY), recent_day(4), limit=40))


def post(url: str, body: bytes, headers: dict) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=10)


def stored(conn) -> int:
    return conn.execute("SELECT count(*) FROM raw.customerio_webhook_events").fetchone()[0]


def counters(conn) -> dict:
    return dict(conn.execute("SELECT counter, count FROM ops.customerio_webhook_counters").fetchall())


def test_signed_events_are_stored_once_even_when_replayed(web, signed, conn, events):
    statuses = send_events(web, events, KEY)
    assert statuses == [200] * len(events)
    assert stored(conn) == len({e["event_id"] for e in events}) == len(events)
    again = send_events(web, events[:5], KEY)  # Customer.io retries: same event_id
    assert again == [200] * 5 and stored(conn) == len(events)
    row = conn.execute(
        "SELECT object_type, metric, email, delivery_id, payload FROM raw.customerio_webhook_events "
        "WHERE event_id = %s",
        (events[0]["event_id"],),
    ).fetchone()
    assert row[:4] == (
        "email",
        events[0]["metric"],
        events[0]["data"]["identifiers"]["email"],
        events[0]["data"]["delivery_id"],
    )
    assert row[4] == events[0]


def test_unsubscribed_bounced_and_spammed_suppress_the_address(web, signed, conn, events):
    world_events = list(reporting_events(World(seed=7, today=TODAY), recent_day(5)))
    bad = [e for e in world_events if e["metric"] in ("unsubscribed", "bounced", "spammed")]
    assert bad
    assert set(send_events(web, bad, KEY)) == {200}
    got = dict(
        conn.execute("SELECT email, reason FROM ops.suppressions WHERE source = 'customerio'").fetchall()
    )
    want = {
        e["data"]["identifiers"]["email"]: {
            "unsubscribed": "unsubscribed",
            "bounced": "bounced",
            "spammed": "spam",
        }[e["metric"]]
        for e in bad
    }
    assert got == want


@pytest.mark.parametrize("case", ["wrong key", "stale timestamp", "no signature", "body altered"])
def test_bad_or_stale_signatures_get_401_store_nothing_and_are_counted(web, signed, conn, events, case):
    body = json.dumps(events[0]).encode()
    headers = signed_headers(KEY, body)
    if case == "wrong key":
        headers = signed_headers("not-the-key", body)
    elif case == "stale timestamp":
        headers = signed_headers(KEY, body, timestamp=int(time.time()) - 301)
    elif case == "no signature":
        del headers["X-CIO-Signature"]
    elif case == "body altered":
        body = body.replace(b'"email"', b'"email" ', 1)
    response = post(web, body, headers)
    assert response.status_code == 401 and "signature check failed" in response.json()["error"]
    assert stored(conn) == 0
    assert counters(conn) == {"stale_timestamp" if case == "stale timestamp" else "bad_signature": 1}
    assert conn.execute("SELECT count(*) FROM ops.dead_letters").fetchone()[0] == 0


def test_a_fresh_timestamp_within_five_minutes_is_accepted(web, signed, conn, events):
    body = json.dumps(events[1]).encode()
    assert post(web, body, signed_headers(KEY, body, timestamp=int(time.time()) - 240)).status_code == 200


@pytest.mark.parametrize(
    "body, problem",
    [
        (b"{not json", "body is not JSON"),
        (
            json.dumps(
                {"object_type": "email", "metric": "sent", "timestamp": 1767225600, "data": {}}
            ).encode(),
            "event_id",
        ),
        (
            json.dumps(
                {"event_id": "e1", "object_type": "email", "timestamp": 1767225600, "data": {}}
            ).encode(),
            "metric",
        ),
        (
            json.dumps({"event_id": "e1", "metric": "sent", "timestamp": 1767225600, "data": {}}).encode(),
            "object_type",
        ),
        (
            json.dumps(
                {
                    "event_id": "e1",
                    "object_type": "email",
                    "metric": "subscribed",
                    "timestamp": 1767225600,
                    "data": {},
                }
            ).encode(),
            "metric 'subscribed' is not reported for email",
        ),
        (
            json.dumps(
                {"event_id": "e1", "object_type": "sms", "metric": "sent", "timestamp": "soon", "data": {}}
            ).encode(),
            "timestamp",
        ),
        (json.dumps([1, 2]).encode(), "JSON object"),
    ],
)
def test_malformed_bodies_get_400_naming_the_problem_and_a_dead_letter(web, signed, conn, body, problem):
    response = post(web, body, signed_headers(KEY, body))
    assert response.status_code == 400 and problem in response.json()["error"]
    assert stored(conn) == 0
    letter = conn.execute("SELECT source, reason, payload FROM ops.dead_letters").fetchall()
    assert letter == [("customerio.webhooks", response.json()["error"], body.decode())]
    assert counters(conn) == {"malformed": 1}


def test_every_object_type_is_stored(web, signed, conn):
    base = {
        "timestamp": int(time.time()),
        "data": {
            "identifiers": {"id": "42", "email": "kai@example.com"},
            "delivery_id": "d1",
            "customer_id": "42",
            "email_address": "kai@example.com",
        },
    }
    kinds = [
        ("customer", "subscribed"),
        ("email", "opened"),
        ("push", "delivered"),
        ("in_app", "clicked"),
        ("sms", "sent"),
        ("slack", "sent"),
        ("webhook", "clicked"),
    ]
    events = [{**base, "event_id": f"ev-{t}", "object_type": t, "metric": m} for t, m in kinds]
    assert send_events(web, events, KEY) == [200] * len(kinds)
    assert sorted(
        r[0] for r in conn.execute("SELECT object_type FROM raw.customerio_webhook_events")
    ) == sorted(t for t, _ in kinds)


def test_without_a_signing_key_nothing_is_accepted(web, monkeypatch, warehouse_url, conn, events):
    monkeypatch.delenv("CUSTOMERIO_WEBHOOK_SIGNING_KEY", raising=False)
    body = json.dumps(events[0]).encode()
    assert post(web, body, signed_headers(KEY, body)).status_code == 503 and stored(conn) == 0


def test_signature_recipe_is_hmac_sha256_over_v0_timestamp_body():
    import hashlib
    import hmac

    assert (
        sign("k", 1700000000, b'{"a":1}')
        == hmac.new(b"k", b'v0:1700000000:{"a":1}', hashlib.sha256).hexdigest()
    )
