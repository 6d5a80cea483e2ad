"""The Klaviyo client: headers, filters, tiers, typed errors, pagination and 429s (over HTTP and MockTransport)."""

from datetime import UTC, datetime

import httpx
import pytest

from marketing_pipeline.http import AuthError, MissingCredentials, RateLimiter, VendorError
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sources.klaviyo.client import (
    REVISION,
    KlaviyoAuthError,
    KlaviyoClient,
    KlaviyoError,
    and_,
    equals,
    greater_or_equal,
    less_than,
    tier_of,
)
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline_tests.conftest import TODAY
from marketing_pipeline_tests.klaviyo_support import API_KEY, client, emulator, small_sandbox

T0 = datetime(2025, 3, 1, 5, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def klaviyo_sandbox():
    box = small_sandbox(TODAY)
    with BackgroundServer(box.app) as server:
        yield box, server.url


def test_filters_read_as_klaviyo_writes_them():
    expr = and_(equals("metric_id", "AbC123"), greater_or_equal("datetime", T0), less_than("datetime", T0))
    assert expr == (
        "and(equals(metric_id,'AbC123'),greater-or-equal(datetime,2025-03-01T05:00:00+00:00),"
        "less-than(datetime,2025-03-01T05:00:00+00:00))"
    )
    assert and_(equals("messages.channel", "email")) == "equals(messages.channel,'email')"


@pytest.mark.parametrize(
    "method, path, tier",
    [
        ("GET", "/api/events", "XL"),
        ("GET", "/api/campaigns", "M"),
        ("GET", "/api/flows/x/flow-actions", "S"),
        ("GET", "/api/profiles", "L"),
        ("GET", "/api/lists", "L"),
        ("GET", "/api/segments/a?additional-fields[segment]=profile_count", "XS"),
        ("POST", "/api/lists/a/relationships/profiles", "M"),
        ("POST", "/api/lists", "M"),  # create list: 10/s, 150/m
        ("POST", "/api/campaign-values-reports", "REPORTS"),
        ("GET", "http://127.0.0.1:1/klaviyo/api/events?page%5Bcursor%5D=x", "XL"),
    ],
)
def test_every_endpoint_is_paced_in_its_own_tier(method, path, tier):
    assert tier_of(method, path) == tier


def test_tiers_pace_burst_and_steady_windows_separately():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    c = KlaviyoClient("http://x", "k", sleep=sleep)
    limiter = c.limiter_for("POST", "/api/flow-values-reports")
    limiter._clock = lambda: now[0]
    for _ in range(3):
        limiter.acquire()
    # 1/s then 2/min: the third call waits for the minute window, not just a second
    assert slept and sum(slept) == pytest.approx(60.0)
    assert c.limiter_for("GET", "/api/events") is not limiter
    assert c.limiter_for("GET", "/api/events") is c.limiter_for("GET", "/api/events?page[cursor]=a")
    # one quota per endpoint (the spec's per-operation limits), whatever the id in the path
    jobs = c.limiter_for("GET", "/api/profile-bulk-import-jobs/a/profiles")
    assert jobs is c.limiter_for("GET", "http://x/api/profile-bulk-import-jobs/b/profiles?page[cursor]=c")
    assert jobs is not c.limiter_for("GET", "/api/profile-bulk-import-jobs/a")
    assert jobs is not c.limiter_for("POST", "/api/profile-bulk-import-jobs")
    assert isinstance(limiter, RateLimiter) and limiter.limits[-1] == (225, 86_400.0)


def test_headers_and_json_api_bodies():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    c = KlaviyoClient("https://a.klaviyo.com", "pk_live_x", transport=httpx.MockTransport(handler))
    assert c.jsonapi("POST", "/api/events", json={"data": {"type": "event"}}) is None
    h = seen[0].headers
    assert h["authorization"] == "Klaviyo-API-Key pk_live_x" and h["revision"] == REVISION == "2026-07-15"
    assert h["content-type"] == h["accept"] == "application/vnd.api+json"
    c2 = KlaviyoClient(
        "https://a.klaviyo.com", "k", revision="2026-10-15", transport=httpx.MockTransport(handler)
    )
    c2.jsonapi("GET", "/api/metrics")
    assert seen[1].headers["revision"] == "2026-10-15" and "content-type" not in seen[1].headers


def test_error_objects_become_typed_errors_with_code_title_detail():
    body = {
        "errors": [
            {
                "id": "e1",
                "status": 400,
                "code": "invalid",
                "title": "Invalid input.",
                "detail": "'bogus' is not a valid field",
                "source": {"parameter": "filter"},
            }
        ]
    }
    c = KlaviyoClient(
        "https://a.klaviyo.com", "k", transport=httpx.MockTransport(lambda r: httpx.Response(400, json=body))
    )
    with pytest.raises(KlaviyoError) as info:
        c.jsonapi("GET", "/api/events")
    e = info.value
    assert (e.status, e.code, e.title, e.detail, e.source) == (
        400,
        "invalid",
        "Invalid input.",
        "'bogus' is not a valid field",
        {"parameter": "filter"},
    )
    assert not e.retryable and "'bogus' is not a valid field" in str(e) and c.stats.calls == 1


def test_a_refused_key_is_an_auth_error_over_http_and_never_retried(klaviyo_sandbox):
    _, url = klaviyo_sandbox
    c = KlaviyoClient(url + "/klaviyo", "pk_wrong")
    with pytest.raises(KlaviyoAuthError) as info:
        c.jsonapi("GET", "/api/metrics")
    assert isinstance(info.value, AuthError) and info.value.status == 401
    assert info.value.code == "authentication_failed" and c.stats.retries == 0


def test_missing_key_names_the_variable():
    with pytest.raises(MissingCredentials, match="Klaviyo is not configured: set KLAVIYO_API_KEY"):
        KlaviyoResource(api_key="").client()


def test_429_with_retry_after_is_waited_out():
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(
                429,
                headers={"Retry-After": "7"},
                json={
                    "errors": [
                        {
                            "id": "x",
                            "status": 429,
                            "code": "throttled",
                            "title": "Request was throttled.",
                            "detail": "Expected available in 7 seconds.",
                        }
                    ]
                },
            )
        return httpx.Response(200, json={"data": [], "links": {"self": "x"}})

    slept = []
    c = KlaviyoClient(
        "https://a.klaviyo.com", "k", transport=httpx.MockTransport(handler), sleep=slept.append
    )
    assert c.jsonapi("GET", "/api/events") == {"data": [], "links": {"self": "x"}}
    assert slept.count(7.0) == 2 and c.stats.retries == 2


def test_the_emulator_tier_counter_throttles_and_the_client_rides_it_out(warehouse_url):
    box = small_sandbox(TODAY, relaxed=False)
    emulator(box).limits["L"] = ((4, 1), (750, 60))  # a small burst window so the test is quick
    with BackgroundServer(box.app) as server:
        unpaced = client(server.url, tiers={"L": ((1000, 1.0),)})
        pages = list(unpaced.pages("/api/lists", {"page[size]": 1}))
    assert len(pages) == len(emulator(box).data.lists)
    assert emulator(box).throttled >= 1 and unpaced.stats.retries == emulator(box).throttled


def test_links_next_is_followed_and_a_repeated_link_refused():
    def handler(request):
        return httpx.Response(
            200,
            json={
                "data": [{"type": "metric", "id": "a"}],
                "links": {"self": "s", "next": "https://a.klaviyo.com/api/metrics?page%5Bcursor%5D=same"},
            },
        )

    c = KlaviyoClient("https://a.klaviyo.com", API_KEY, transport=httpx.MockTransport(handler))
    with pytest.raises(VendorError, match="cursor repeated"):
        list(c.pages("/api/metrics"))
    assert c.stats.pages == 2
