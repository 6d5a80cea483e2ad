"""The GA4 emulator's responses and the client's requests against Google's discovery document."""

import json

import pytest
from jsonschema import Draft202012Validator

from marketing_pipeline.sandbox.credentials import GA4_ACCESS_TOKEN as SANDBOX_TOKEN
from marketing_pipeline.sandbox.credentials import GA4_PROPERTY_ID as SANDBOX_PROPERTY_ID
from marketing_pipeline.sources.ga4.auth import StaticToken
from marketing_pipeline.sources.ga4.client import GA4Client
from marketing_pipeline.sources.ga4.reports import LANDING_PAGES, TRAFFIC
from marketing_pipeline_tests.conftest import SPECS, recent_day

DISCOVERY = SPECS / "ga4" / "analyticsdata.v1beta.json"
pytestmark = pytest.mark.skipif(
    not DISCOVERY.exists(), reason=f"GA4 discovery document not found at {DISCOVERY}"
)


def to_json_schema(node: dict, closed: bool) -> dict:
    """A discovery-format schema as JSON Schema. ``closed``: objects refuse fields the document does not list."""
    if "$ref" in node:
        return {"$ref": f"#/$defs/{node['$ref']}"}
    out: dict = {}
    kind = node.get("type")
    if kind == "any":
        return {}
    if kind:
        out["type"] = kind  # int64 travels as a JSON string: the discovery type already says "string"
    if "enum" in node:
        out["enum"] = node["enum"]
    if "items" in node:
        out["items"] = to_json_schema(node["items"], closed)
    if "properties" in node:
        out["properties"] = {k: to_json_schema(v, closed) for k, v in node["properties"].items()}
        if closed:
            out["additionalProperties"] = False
    elif isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = to_json_schema(node["additionalProperties"], closed)
    return out


def validator(name: str, closed: bool = True) -> Draft202012Validator:
    schemas = json.loads(DISCOVERY.read_text())["schemas"]
    return Draft202012Validator(
        {"$ref": f"#/$defs/{name}", "$defs": {k: to_json_schema(v, closed) for k, v in schemas.items()}}
    )


def errors(v: Draft202012Validator, instance) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(instance)]


@pytest.mark.parametrize("faulty_sandbox", ["ga4:latency=0"], indirect=True)
def test_client_requests_and_emulator_responses_match_the_discovery_schemas(faulty_sandbox):
    box, url = faulty_sandbox
    emulator = box.emulators["ga4"]
    c = GA4Client(url + "/ga4", SANDBOX_PROPERTY_ID, StaticToken(SANDBOX_TOKEN))
    day = recent_day(6)
    for report in (TRAFFIC, LANDING_PAGES):
        body = report.body(day, day)
        pages = list(c.run_report(body, page_size=25))
        assert len(pages) > 1
        response = c.http.post(
            f"/v1beta/properties/{SANDBOX_PROPERTY_ID}:runReport",
            json={**body, "limit": "5", "returnPropertyQuota": True},
            headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        ).json()
        assert errors(validator("RunReportResponse"), response) == []
        assert {h["type"] for h in response["metricHeaders"]} <= {"TYPE_INTEGER", "TYPE_CURRENCY"}
        assert all(isinstance(v["value"], str) for row in response["rows"] for v in row["metricValues"])
    assert len(emulator.requests) >= 4
    request_validator = validator("RunReportRequest")
    for sent in emulator.requests:
        assert errors(request_validator, sent) == []


def test_the_conformance_check_catches_a_wrong_field():
    assert errors(validator("RunReportRequest"), {"dateRange": [], "limit": 10})
    assert errors(validator("RunReportResponse"), {"rows": [{"metricValues": [{"value": 3}]}]})


def test_error_bodies_carry_a_google_rpc_status(sandbox):
    _, url = sandbox
    c = GA4Client(url + "/ga4", SANDBOX_PROPERTY_ID, StaticToken(SANDBOX_TOKEN))
    status_validator = validator("Status", closed=False)
    bad_metric = {**TRAFFIC.body(recent_day(3), recent_day(3)), "metrics": [{"name": "notAMetric"}]}
    for headers, body, code in (
        ({"Authorization": "Bearer nope"}, {}, 401),
        ({"Authorization": f"Bearer {SANDBOX_TOKEN}"}, bad_metric, 400),
    ):
        response = c.http.post(
            f"/v1beta/properties/{SANDBOX_PROPERTY_ID}:runReport", json=body, headers=headers
        )
        assert response.status_code == code
        status = response.json()["error"]
        assert errors(status_validator, status) == [] and status["code"] == code and status["message"]
