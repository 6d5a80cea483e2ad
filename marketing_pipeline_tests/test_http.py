"""The shared client machinery: Retry-After, backoff, typed errors, pacing, secret-free logs."""

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from marketing_pipeline.http import ApiClient, RateLimiter, VendorError, cursor_pages, parse_retry_after


def make_client(handler, **kwargs):
    sleeps: list[float] = []
    client = ApiClient(
        "https://vendor.test", transport=httpx.MockTransport(handler), sleep=sleeps.append, **kwargs
    )
    return client, sleeps


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_429_honours_retry_after_then_succeeds():
    calls = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={"ok": 1})])
    client, sleeps = make_client(lambda r: next(calls))
    assert client.request("GET", "/x").json() == {"ok": 1}
    assert sleeps == [3.0]
    assert client.stats.calls == 2 and client.stats.retries == 1


def test_5xx_and_dropped_connections_back_off_with_jitter_and_cap():
    attempts = {"n": 0}

    def handler(request):
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        if attempts["n"] == 2:
            raise httpx.ReadTimeout("timed out", request=request)
        if attempts["n"] < 5:
            return httpx.Response(503)
        return httpx.Response(200, json={})

    client, sleeps = make_client(handler, backoff_base=1.0, backoff_cap=2.0)
    client.request("GET", "/x")
    assert attempts["n"] == 5
    assert len(sleeps) == 4 and all(0 <= s <= 2.0 for s in sleeps)


def test_gives_up_after_max_attempts_with_the_vendor_error():
    client, sleeps = make_client(lambda r: httpx.Response(500, text="upstream exploded"), max_attempts=3)
    with pytest.raises(VendorError) as err:
        client.request("GET", "/x")
    assert err.value.status == 500 and "upstream exploded" in str(err.value)
    assert client.stats.calls == 3 and len(sleeps) == 2


def test_other_4xx_raise_at_once_with_vendor_message():
    client, sleeps = make_client(lambda r: httpx.Response(400, text="bad filter field 'x'"))
    with pytest.raises(VendorError, match="bad filter field"):
        client.request("GET", "/x")
    assert client.stats.calls == 1 and sleeps == []


def test_logs_never_print_secrets(caplog):
    responses = iter(
        [
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(200, json={}),
            httpx.Response(200, json={}),
        ]
    )
    client, _ = make_client(lambda r: next(responses))
    with caplog.at_level(logging.DEBUG, logger="marketing_pipeline.http"):
        client.request("GET", "/x", params={"n": "1", "access_token": "SECRET-TOKEN", "sign": "SECRET-SIGN"})
        client.request("GET", "/x", params={"n": "2", "api_key": "SECRET-KEY"})
    text = caplog.text
    assert "SECRET" not in text and "[redacted]" in text


def test_rate_limiter_paces_over_two_windows():
    now = {"t": 0.0}
    slept: list[float] = []

    def sleep(s):
        slept.append(s)
        now["t"] += s

    limiter = RateLimiter((3, 1.0), (5, 60.0), clock=lambda: now["t"], sleep=sleep)
    for _ in range(6):
        limiter.acquire()
    # 3 in the first second, the 4th waits for the burst window, the 6th for the minute window
    assert slept[0] == pytest.approx(1.0)
    assert now["t"] == pytest.approx(60.0)


def test_cursor_pages_refuses_a_repeating_cursor():
    pages = {None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")}
    with pytest.raises(VendorError, match="repeated"):
        list(cursor_pages(lambda c: pages[c]))
    assert list(cursor_pages(lambda c: {None: ([1], "a"), "a": ([2], None)}[c])) == [[1], [2]]
