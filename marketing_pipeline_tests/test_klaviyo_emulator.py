"""The Klaviyo emulator answers as Klaviyo does: auth and revision errors, required filters, and every
page of every stream read exactly once."""

from collections import Counter
from datetime import timedelta

import httpx
import pytest

from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sources.klaviyo import streams
from marketing_pipeline_tests.conftest import TODAY
from marketing_pipeline_tests.klaviyo_support import API_KEY, client, emulator, small_sandbox


@pytest.fixture(scope="module")
def klaviyo_sandbox():
    box = small_sandbox(TODAY)
    with BackgroundServer(box.app) as server:
        yield box, server.url


@pytest.mark.parametrize(
    "headers, status, code, parameter",
    [
        ({}, 401, "not_authenticated", None),
        (
            {"Authorization": "Klaviyo-API-Key pk_nope", "revision": "2026-07-15"},
            401,
            "authentication_failed",
            None,
        ),
        ({"Authorization": f"Klaviyo-API-Key {API_KEY}"}, 400, "invalid", "revision"),
        ({"Authorization": f"Klaviyo-API-Key {API_KEY}", "revision": "july"}, 400, "invalid", "revision"),
    ],
)
def test_key_and_revision_are_checked_with_error_objects(klaviyo_sandbox, headers, status, code, parameter):
    _, url = klaviyo_sandbox
    r = httpx.get(url + "/klaviyo/api/metrics", headers=headers)
    assert r.status_code == status
    err = r.json()["errors"][0]
    assert err["code"] == code and err["status"] == status and err["title"] and err["detail"] and err["id"]
    assert (err.get("source") or {}).get("parameter") == parameter


def test_campaigns_need_a_channel_filter(klaviyo_sandbox):
    _, url = klaviyo_sandbox
    c = client(url)
    from marketing_pipeline.sources.klaviyo.client import KlaviyoError

    with pytest.raises(KlaviyoError, match="channel filter is required") as info:
        c.jsonapi("GET", "/api/campaigns")
    assert info.value.status == 400 and info.value.source == {"parameter": "filter"}


def test_report_tier_answers_429_with_retry_after(klaviyo_sandbox):
    box = small_sandbox(TODAY, relaxed=False)
    body = {
        "data": {
            "type": "flow-values-report",
            "attributes": {
                "statistics": ["opens"],
                "timeframe": {"key": "yesterday"},
                "conversion_metric_id": emulator(box).data.metrics["Placed Order"],
            },
        }
    }
    headers = {"Authorization": f"Klaviyo-API-Key {API_KEY}", "revision": "2026-07-15"}
    with BackgroundServer(box.app) as server:
        answers = []
        while len(answers) < 5 and not any(a.status_code == 429 for a in answers):
            answers.append(
                httpx.post(server.url + "/klaviyo/api/flow-values-reports", json=body, headers=headers)
            )
    # 1 per second and 2 per minute (fixed windows): within five quick calls one is refused, even if a
    # minute boundary falls between them
    refused = answers[-1]
    assert answers[0].status_code == 200 and refused.status_code == 429 and len(answers) <= 5
    assert int(refused.headers["Retry-After"]) >= 1 and refused.json()["errors"][0]["code"] == "throttled"


def test_every_page_of_every_stream_is_read_once(klaviyo_sandbox):
    box, url = klaviyo_sandbox
    emu = emulator(box)
    c = client(url)
    start = len(emu.requests)
    day = next(cp.send_time.date() for cp in reversed(emu.data.campaigns) if cp.status == "Sent")
    events = [e["id"] for page in streams.event_pages(c, *day_bounds(day)) for e in page]
    campaigns = list(streams.campaigns(c))
    flows = list(streams.flows(c))
    lists = list(streams.groups(c, "list", with_counts=False))
    segments = list(streams.groups(c, "segment", with_counts=True))
    profiles = [
        p["id"]
        for page in streams.profile_pages(
            c, *day_bounds(TODAY - timedelta(days=400))[:1], day_bounds(TODAY)[0]
        )
        for p in page
    ]
    metrics = list(streams.metrics(c))
    log = emu.requests[start:]
    assert all(n == 1 for n in Counter(log).values()), "a page was requested twice"
    paths = Counter(path for _, path, _ in log)
    assert len(events) == len(set(events)) > 200 and paths["/api/events"] >= 2
    assert len(campaigns) == len(emu.data.campaigns) and paths["/api/campaigns"] == -(-len(campaigns) // 100)
    assert len(flows) == len(emu.data.flows) and all(a for _, a in flows)
    assert len(lists) == len(emu.data.lists) and paths["/api/lists"] == 2  # 10 per page
    assert all("profile_count" in s["attributes"] for s in segments)
    assert len(profiles) == len(set(profiles)) > 100 and paths["/api/profiles"] >= 2
    assert len(metrics) == len(emu.data.metrics)


def test_each_operation_has_its_own_rate_limit_window(klaviyo_sandbox):
    box = small_sandbox(TODAY, relaxed=False)
    headers = {"Authorization": f"Klaviyo-API-Key {API_KEY}", "revision": "2026-07-15"}
    body = {"data": {"type": "flow-values-report", "attributes": {"statistics": ["opens"]}}}
    with BackgroundServer(box.app) as server:
        reports = server.url + "/klaviyo/api/flow-values-reports"
        answers = []
        while len(answers) < 5 and not any(a.status_code == 429 for a in answers):
            answers.append(httpx.post(reports, json=body, headers=headers))
        assert answers[-1].status_code == 429  # the flow report's quota is spent...
        # ...and the campaign report, in the same tier, still answers: windows are per operation
        other = httpx.post(
            server.url + "/klaviyo/api/campaign-values-reports",
            json={"data": {"type": "campaign-values-report", "attributes": {}}},
            headers=headers,
        )
        assert other.status_code != 429


def test_profiles_are_found_by_a_list_of_emails(klaviyo_sandbox):
    box, url = klaviyo_sandbox
    emu = emulator(box)
    some = [c for _, _, c in emu.data.profiles_by_updated[:3]]
    wanted = [c.email.upper() for c in some] + ["nobody@example.com"]
    quoted = ",".join(f'"{e}"' for e in wanted)
    pages = list(client(url).pages("/api/profiles", {"filter": f"any(email,[{quoted}])", "page[size]": 100}))
    found = {p["attributes"]["email"].lower(): p["id"] for page in pages for p in page["data"]}
    assert found == {c.email.lower(): emu.data.profile_id(c) for c in some}
    one = list(client(url).pages("/api/profiles", {"filter": f"equals(email,'{some[0].email}')"}))
    assert [p["id"] for p in one[0]["data"]] == [emu.data.profile_id(some[0])]
