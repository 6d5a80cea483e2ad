"""Emulator responses, client requests and webhook events checked against Customer.io's own schemas.

The specs are the offline copies in ../shared/specs/customerio (OpenAPI 3.0, refs inlined).
"""

import json
import re
import time
from datetime import timedelta

import httpx
import pytest

from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sandbox.customerio.webhook_sender import reporting_events
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.sources.customerio.client import CustomerIoAppClient
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.sources.customerio.webhook_models import METRICS
from marketing_pipeline_tests.conftest import SPECS, TODAY, recent_day

jsonschema = pytest.importorskip("jsonschema")
SPEC_DIR = SPECS / "customerio"
pytestmark = pytest.mark.skipif(
    not (SPEC_DIR / "journeys-app-api.openapi.json").exists(),
    reason=f"Customer.io specs not found in {SPEC_DIR}",
)
KEY = "sandbox-cio-app-key"


def nullable_to_json_schema(node):
    """OpenAPI 3.0 ``nullable: true`` is ``type: [t, 'null']`` in JSON Schema."""
    if isinstance(node, dict):
        out = {k: nullable_to_json_schema(v) for k, v in node.items() if k != "discriminator"}
        if node.get("nullable") and "type" in node:
            out["type"] = [node["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        return out
    if isinstance(node, list):
        return [nullable_to_json_schema(x) for x in node]
    return node


@pytest.fixture(scope="module")
def app_spec():
    return json.loads((SPEC_DIR / "journeys-app-api.openapi.json").read_text())


@pytest.fixture(scope="module")
def track_spec():
    return json.loads((SPEC_DIR / "journeys-track-api.openapi.json").read_text())


@pytest.fixture(scope="module")
def webhook_schema():
    spec = json.loads((SPEC_DIR / "reporting-webhooks.x-webhooks.json").read_text())
    post = spec["x-webhooks"]["reportingWebhook"]["post"]
    return post, nullable_to_json_schema(post["requestBody"]["content"]["application/json"]["schema"])


def response_schema(spec, path, method="get"):
    return nullable_to_json_schema(
        spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    )


def validate(instance, schema):
    jsonschema.Draft7Validator(schema).validate(instance)


@pytest.mark.parametrize(
    "path, spec_path, params",
    [
        ("/v1/campaigns", "/v1/campaigns", {}),
        ("/v1/broadcasts", "/v1/broadcasts", {}),
        ("/v1/newsletters", "/v1/newsletters", {"limit": 5}),
        ("/v1/messages", "/v1/messages", "day"),
        ("/v1/campaigns/12/metrics", "/v1/campaigns/{campaign_id}/metrics", "metrics"),
        (
            "/v1/newsletters/{nid}/metrics",
            "/v1/newsletters/{newsletter_id}/metrics",
            {"period": "days", "steps": 10},
        ),
        (
            "/v1/broadcasts/21/metrics",
            "/v1/broadcasts/{broadcast_id}/metrics",
            {"period": "days", "steps": 30},
        ),
    ],
)
def test_emulator_responses_match_the_app_api_schemas(sandbox, app_spec, path, spec_path, params):
    box, url = sandbox
    start, end = day_bounds(recent_day(3))
    if params == "day":
        params = {"start_ts": int(start.timestamp()), "end_ts": int(end.timestamp()), "limit": 50}
    elif params == "metrics":
        params = {
            "version": "2",
            "res": "days",
            "tz": "UTC",
            "start": int(start.timestamp()) - 86400 * 3,
            "end": int(end.timestamp()),
        }
    path = path.replace("{nid}", str(box.emulators["customerio"].workspace.newsletters()[-1]["id"]))
    for _ in range(
        3
    ):  # the session sandbox is shared: wait out its 10 requests/s limit if a test before filled it
        response = httpx.get(
            url + "/customerio/app" + path, params=params, headers={"Authorization": f"Bearer {KEY}"}
        )
        if response.status_code != 429:
            break
        time.sleep(1)
    assert response.status_code == 200, response.text
    body = response.json()
    schema = response_schema(app_spec, spec_path)
    if "metric" in body:  # version 1 and 2 share a shape: oneOf cannot tell them apart, check each branch
        branches = schema.get("oneOf") or [schema]
        errors = [list(jsonschema.Draft7Validator(b).iter_errors(body)) for b in branches]
        assert any(not e for e in errors), errors
        assert any(v for v in body["metric"]["series"].values() if sum(v))
    elif "campaigns" in body:  # campaign items are oneOf by trigger type: each against its own branch
        item_branches = {
            b.get("title", "").lower(): b for b in schema["properties"]["campaigns"]["items"]["oneOf"]
        }
        assert {item["type"] for item in body["campaigns"]} == {"segment", "event"}
        for item in body["campaigns"]:
            validate(item, item_branches[item["type"]])
    else:
        validate(body, schema)
        listed = next(v for v in body.values() if isinstance(v, list))
        assert listed


class Recorder:
    def __init__(self):
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> None:
        self.requests.append(request)


def spec_operation(spec, method: str, path: str):
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return item, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the spec")


def check_query(spec, request: httpx.Request, prefix: str):
    path = request.url.path[len(prefix) :]
    item, op = spec_operation(spec, request.method, path)
    declared = {
        p["name"]: p
        for p in (item.get("parameters") or []) + (op.get("parameters") or [])
        if p["in"] == "query"
    }
    sent = dict(request.url.params)
    for name, value in sent.items():
        assert name in declared, f"{path}: query parameter {name} is not in the spec"
        schema = declared[name]["schema"]
        typed = (
            int(value)
            if schema.get("type") == "integer"
            else (value == "true")
            if schema.get("type") == "boolean"
            else value
        )
        jsonschema.validate(typed, schema)
    for name, p in declared.items():
        assert not p.get("required") or name in sent, f"{path}: required {name} missing"
    assert request.headers["authorization"].startswith("Bearer ")


def test_app_client_requests_match_the_spec_parameters(sandbox, app_spec):
    box, url = sandbox
    newsletter = box.emulators["customerio"].workspace.newsletters()[-1]["id"]
    recorder = Recorder()
    with CustomerIoAppClient(url + "/customerio/app", KEY) as client:
        client.http.event_hooks["request"].append(recorder)
        start, end = day_bounds(recent_day(3))
        client.campaigns(), client.broadcasts()
        list(client.newsletters(limit=50))
        client.campaign_metrics(12, start, end, "UTC")
        client.v1_metrics("newsletter", newsletter, 20)
        client.v1_metrics("broadcast", 21, 20)
        list(client.deliveries(start, end, limit=1000))
    assert len(recorder.requests) >= 7
    for request in recorder.requests:
        check_query(app_spec, request, "/customerio/app")


def test_track_requests_match_the_track_api_schemas(sandbox, track_spec):
    _, url = sandbox
    recorder = Recorder()
    resource = CustomerIoResource(
        app_base_url=url + "/customerio/app",
        site_id="sandbox-cio-site",
        track_api_key="sandbox-cio-track-key",
    )
    with resource.track_client() as client:
        client.http.event_hooks["request"].append(recorder)
        client.identify(
            "conf@example.com",
            {
                "email": "conf@example.com",
                "first_name": "Conf",
                "unsubscribed": False,
                "last_order_at": 1760000000,
            },
        )
        client.track(
            "conf@example.com",
            "order_placed",
            event_id="01K7AB5Q0000000000000000ZZ",
            timestamp=1760000000,
            data={"order_id": "1", "value": 42.5},
        )
        client.suppress("conf@example.com")
        client.delete("conf@example.com")
    assert [r.method for r in recorder.requests] == ["PUT", "POST", "POST", "DELETE"]
    for request in recorder.requests:
        path = request.url.path[len("/customerio/track") :]
        _, op = spec_operation(track_spec, request.method, path.replace("%40", "@"))
        assert request.headers["authorization"].startswith("Basic ")
        if request.content:
            schema = nullable_to_json_schema(op["requestBody"]["content"]["application/json"]["schema"])
            body = json.loads(request.content)
            if "oneOf" in schema:  # event kinds: ours is the plain 'event' branch
                schema = schema["oneOf"][0]
            validate(body, schema)


def test_webhook_events_from_the_sender_match_the_reporting_schema(webhook_schema):
    post, schema = webhook_schema
    assert {p["name"] for p in post["parameters"]} == {"x-cio-timestamp", "x-cio-signature"}
    events = list(reporting_events(World(seed=7, today=TODAY), TODAY - timedelta(days=3), limit=300))
    assert {e["metric"] for e in events} >= {"sent", "delivered", "opened", "clicked", "bounced"}
    email = next(g for g in schema["oneOf"] if g["title"] == "Email")
    for event in events:
        branch = next(b for b in email["oneOf"] if b["title"] == event["metric"])
        validate(event, branch)


def test_accepted_metrics_per_object_type_match_the_schema(webhook_schema):
    _, schema = webhook_schema
    titles = {
        "Customer": "customer",
        "Email": "email",
        "Push": "push",
        "In-App Messages": "in_app",
        "SMS": "sms",
        "Slack": "slack",
        "Webhook": "webhook",
    }

    def enums(node, out):
        if isinstance(node, dict):
            metric = node.get("properties", {}).get("metric")
            if isinstance(metric, dict):
                out.update(v for v in metric.get("enum", []) if v)
            for v in node.values():
                enums(v, out)
        elif isinstance(node, list):
            for v in node:
                enums(v, out)
        return out

    for group in schema["oneOf"]:
        spec_metrics = enums(group, set()) | {
            b["title"] for b in group["oneOf"] if b["title"] in ("drafted",)
        }
        assert METRICS[titles[group["title"]]] >= spec_metrics - {"changed subscription preferences"}, group[
            "title"
        ]
