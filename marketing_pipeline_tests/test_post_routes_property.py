"""Generated bodies and headers at every POST route of the web app: whatever arrives, the answer
is never a 5xx. Signed routes get valid signatures over the generated body too, so the
generated data reaches the code behind the check. Bounded: 60 examples per route."""

from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import attacks
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.web.app import create_app

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_value = st.recursive(
    json_leaf,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {
        "event_id": st.text(max_size=30) | json_value,
        "type": st.sampled_from(
            ["cart_created", "item_added", "cart_updated", "contact_identified", "order_completed"]
        )
        | json_value,
        "cart_id": st.text(max_size=30) | st.just("tts:1") | json_value,
        "occurred_at": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)
        | st.text(max_size=30)
        | json_value,
    },
    optional={
        "email": st.emails() | st.text(max_size=40),
        "item": st.fixed_dictionaries(
            {"sku_id": st.text(max_size=5), "name": st.text(max_size=5), "unit_price": json_value},
            optional={"image_url": st.text(max_size=30), "quantity": json_value},
        ),
        "items": json_value,
        "order_total": json_value,
        "order_id": json_value,
    },
)
cio_like = st.fixed_dictionaries(
    {
        "event_id": st.text(max_size=20) | json_value,
        "object_type": st.sampled_from(["email", "customer", "sms"]) | json_value,
        "metric": st.sampled_from(["sent", "unsubscribed", "bounced"]) | json_value,
        "timestamp": st.integers() | json_value,
        "data": st.dictionaries(
            st.sampled_from(["recipient", "delivery_id", "identifiers", "email_address"]),
            json_value | st.emails(),
        ),
    }
)
tiktok_like = st.fixed_dictionaries(
    {
        "type": st.integers(0, 3) | json_value,
        "data": json_value
        | st.fixed_dictionaries(
            {"order_id": json_value, "order_status": json_value, "update_time": json_value}
        ),
    },
    optional={"tts_notification_id": json_value, "timestamp": json_value},
)


def encode(value) -> bytes:
    import json

    return json.dumps(value).encode()


bodies = {
    "website": st.binary(max_size=200)
    | json_value.map(encode)
    | event_like.map(encode)
    | st.lists(event_like, max_size=3).map(encode),
    "customerio": st.binary(max_size=200) | json_value.map(encode) | cio_like.map(encode),
    "tiktok": st.binary(max_size=200) | json_value.map(encode) | tiktok_like.map(encode),
    None: st.binary(max_size=200) | json_value.map(encode),
}
# what HTTP/1.1 lets through to the app: visible ASCII, spaces, tabs and obs-text (0x80-0xff)
header_value = st.lists(st.sampled_from([9, *range(0x20, 0x7F), *range(0x80, 0x100)]), max_size=40).map(
    lambda b: bytes(b).strip(b" \t")
)
headers = st.dictionaries(
    st.sampled_from(
        ["content-type", "x-cio-timestamp", "x-cio-signature", "authorization", "x-write-key", "cookie"]
    ),
    header_value,
    max_size=3,
)


@pytest.fixture(scope="module")
def web():
    with BackgroundServer(create_app()) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def keys(warehouse_url, monkeypatch):
    for var, value in attacks.ENV.items():
        monkeypatch.setenv(var, value)
    return attacks.seed_victim(warehouse_url)


ROUTES = [
    ("/intake/cart-events", "website"),
    ("/webhooks/tiktok-shop", "tiktok"),
    ("/webhooks/customerio", "customerio"),
    ("/u/TOKEN", None),
    ("/login", None),
    # the per-brand URLs (without a brands file the one brand is "default")
    ("/webhooks/default/tiktok-shop", "tiktok"),
    ("/webhooks/default/customerio", "customerio"),
    ("/u/default/TOKEN", None),
]


@pytest.mark.parametrize("path, auth", ROUTES, ids=[p for p, _ in ROUTES])
def test_no_generated_request_gets_a_5xx(web, keys, path, auth):
    from marketing_pipeline.web.app import create_app as _app  # every POST route is listed above

    posted = {r.path for r in _app().routes if "POST" in (getattr(r, "methods", None) or set())}
    assert posted == {
        "/intake/cart-events",
        "/webhooks/tiktok-shop",
        "/webhooks/customerio",
        "/u/{token:str}",
        "/webhooks/{brand:str}/tiktok-shop",
        "/webhooks/{brand:str}/customerio",
        "/u/{brand:str}/{token:str}",
        "/login",
        "/logout",
    }

    @SETTINGS
    @given(body=bodies[auth], extra=headers, signed=st.booleans())
    def check(body, extra, signed):
        attack = attacks.Attack(
            "generated", path.replace("TOKEN", keys), body, auth if signed else None, extra
        )
        response = attack.request(web)
        assert response.status_code < 500, (response.status_code, body[:200], extra)

    check()
