"""Emulator responses and client requests checked against Klaviyo's own OpenAPI document (revision 2026-07-15).

The schemas are read from the operations themselves (response and request body of each path), so a
difference between the emulator and Klaviyo shows up as a validation error naming the field.
"""

import copy
import json
from datetime import timedelta
from functools import lru_cache

import httpx
import pytest

from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sources.klaviyo import assets_reports
from marketing_pipeline.sources.klaviyo.client import PAGE_SIZES, REVISION
from marketing_pipeline_tests.conftest import SPECS, TODAY
from marketing_pipeline_tests.klaviyo_support import API_KEY, client, emulator, small_sandbox

SPEC_FILE = SPECS / "klaviyo" / "openapi-stable.json"
pytestmark = pytest.mark.skipif(
    not SPEC_FILE.exists(), reason=f"Klaviyo OpenAPI document not found at {SPEC_FILE}"
)


def _nullable(node):
    """OpenAPI 3.0 as JSON Schema: ``nullable: true`` also accepts null, and ``oneOf`` is read as ``anyOf``.

    Klaviyo's ``oneOf`` branches have no discriminator and overlap (``send_options`` is one of three
    identical objects), so no instance could ever match exactly one; each branch is still enforced.
    """
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {("anyOf" if k == "oneOf" else k): _nullable(v) for k, v in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@lru_cache(maxsize=1)
def spec() -> dict:
    """Loaded once per session (3 MB)."""
    doc = json.loads(SPEC_FILE.read_text())
    doc["components"]["schemas"] = _nullable(doc["components"]["schemas"])
    doc["paths"] = _nullable(doc["paths"])
    return doc


def validate(instance, schema: dict) -> None:
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    doc = spec()
    registry = Registry().with_resource("urn:klaviyo", Resource(contents=doc, specification=DRAFT7))
    rooted = _reroot(copy.deepcopy(schema))
    errors = sorted(
        Draft7Validator(rooted, registry=registry).iter_errors(instance), key=lambda e: list(e.path)
    )
    assert not errors, "; ".join(f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors[:5])


def _reroot(node):
    if isinstance(node, dict):
        return {
            k: ("urn:klaviyo" + v if k == "$ref" and v.startswith("#") else _reroot(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_reroot(n) for n in node]
    return node


def response_schema(path: str, method: str = "get", status: str = "200") -> dict:
    responses = spec()["paths"][path][method]["responses"]
    return responses[status]["content"]["application/vnd.api+json"]["schema"]


def request_schema(path: str, method: str = "post") -> dict:
    return spec()["paths"][path][method]["requestBody"]["content"]["application/vnd.api+json"]["schema"]


def parameter(path: str, name: str, method: str = "get") -> dict:
    return next(p for p in spec()["paths"][path][method]["parameters"] if p.get("name") == name)


@pytest.fixture(scope="module")
def served():
    box = small_sandbox(TODAY)
    with BackgroundServer(box.app) as server:
        yield box, server.url


def get(url: str, path: str, params: dict | None = None) -> dict:
    r = httpx.get(
        f"{url}/klaviyo{path}",
        params=params,
        headers={"Authorization": f"Klaviyo-API-Key {API_KEY}", "revision": REVISION},
    )
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("application/vnd.api+json")
    return r.json()


def test_collections_match_the_spec(served):
    box, url = served
    emu = emulator(box)
    day = next(c.send_time.date() for c in reversed(emu.data.campaigns) if c.status == "Sent")
    start, end = day_bounds(day)
    c = client(url)
    events = next(
        c.pages(
            "/api/events",
            {
                "filter": f"and(greater-or-equal(datetime,{start.isoformat()}),"
                f"less-than(datetime,{end.isoformat()}))",
                "page[size]": 200,
            },
        )
    )
    assert events["data"] and events["links"].get("next")
    validate(events, response_schema("/api/events"))
    validate(get(url, "/api/metrics"), response_schema("/api/metrics"))
    profiles = get(url, "/api/profiles", {"additional-fields[profile]": "subscriptions", "page[size]": 100})
    assert profiles["data"][0]["attributes"]["subscriptions"]["email"]["marketing"]["consent"]
    validate(profiles, response_schema("/api/profiles"))
    validate(get(url, "/api/lists"), response_schema("/api/lists"))
    validate(get(url, "/api/segments"), response_schema("/api/segments"))
    one = emu.data.lists[0]["id"]
    validate(
        get(url, f"/api/lists/{one}", {"additional-fields[list]": "profile_count"}),
        response_schema("/api/lists/{id}"),
    )
    seg = emu.data.segments[0]["id"]
    validate(
        get(url, f"/api/segments/{seg}", {"additional-fields[segment]": "profile_count"}),
        response_schema("/api/segments/{id}"),
    )
    campaigns = get(
        url, "/api/campaigns", {"filter": "equals(messages.channel,'email')", "include": "campaign-messages"}
    )
    assert campaigns["included"]
    validate(campaigns, response_schema("/api/campaigns"))
    validate(
        get(url, f"/api/campaigns/{emu.data.campaigns[0].id}/campaign-messages"),
        response_schema("/api/campaigns/{id}/campaign-messages"),
    )
    flows = get(url, "/api/flows", {"include": "flow-actions"})
    validate(flows, response_schema("/api/flows"))
    flow = emu.data.flows[0]
    validate(get(url, f"/api/flows/{flow.id}/flow-actions"), response_schema("/api/flows/{id}/flow-actions"))
    validate(
        get(url, f"/api/flow-actions/{flow.actions[0][0]}/flow-messages"),
        response_schema("/api/flow-actions/{id}/flow-messages"),
    )


def test_errors_match_the_spec(served):
    _, url = served
    r = httpx.get(f"{url}/klaviyo/api/events", headers={"revision": REVISION})
    assert r.status_code == 401
    validate(
        r.json(),
        spec()["components"]["responses"]["ClientError"]["content"]["application/vnd.api+json"]["schema"],
    )


def test_report_requests_and_responses_match_the_spec(served):
    box, url = served
    emu = emulator(box)
    sent = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        forwarded = httpx.post(
            str(request.url).replace("http://k", url), content=request.content, headers=dict(request.headers)
        )
        return httpx.Response(forwarded.status_code, content=forwarded.content, headers=forwarded.headers)

    c = client(url, transport=httpx.MockTransport(record))
    c.http.base_url = "http://k/klaviyo"
    day = TODAY - timedelta(days=10)
    start, end = day_bounds(day - timedelta(days=6))[0], day_bounds(day)[1]
    attrs = {
        "statistics": assets_reports.STATISTICS,
        "timeframe": assets_reports._timeframe(start, end, start.tzinfo),
        "conversion_metric_id": emu.data.metrics["Placed Order"],
    }
    campaign = next(
        c.report_pages(
            "/api/campaign-values-reports", {"data": {"type": "campaign-values-report", "attributes": attrs}}
        )
    )
    series = next(
        c.report_pages(
            "/api/flow-series-reports",
            {"data": {"type": "flow-series-report", "attributes": {**attrs, "interval": "daily"}}},
        )
    )
    validate(json.loads(sent[0].content), request_schema("/api/campaign-values-reports"))
    validate(json.loads(sent[1].content), request_schema("/api/flow-series-reports"))
    assert all(r.headers["revision"] == REVISION for r in sent)
    validate(campaign, response_schema("/api/campaign-values-reports", "post"))
    validate(series, response_schema("/api/flow-series-reports", "post"))
    assert len(series["data"]["attributes"]["date_times"]) == 7 and series["data"]["attributes"]["results"]


def test_client_query_parameters_are_within_the_spec(served):
    """The page sizes and the revision the client sends are ones each operation accepts."""
    for resource, path in (
        ("events", "/api/events"),
        ("campaigns", "/api/campaigns"),
        ("flows", "/api/flows"),
        ("profiles", "/api/profiles"),
        ("lists", "/api/lists"),
        ("segments", "/api/segments"),
        ("flow-actions", "/api/flows/{id}/flow-actions"),
    ):
        validate(PAGE_SIZES[resource], _nullable(parameter(path, "page[size]")["schema"]))
        assert PAGE_SIZES[resource] <= parameter(path, "page[size]")["schema"]["maximum"]
    assert REVISION == spec()["info"]["version"]
    revision = parameter("/api/events", "revision")
    assert revision["in"] == "header" and revision["required"] and revision["schema"]["default"] == REVISION
