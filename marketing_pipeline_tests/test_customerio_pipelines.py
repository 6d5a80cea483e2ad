"""Customer.io Pipelines batch: size limits enforced before sending, delivered to the emulator over HTTP."""

import json
from datetime import UTC, datetime

import pytest

from marketing_pipeline.http import AuthError
from marketing_pipeline.sandbox.app import build
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sources.customerio.pipelines import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    identify_message,
    pack,
    track_message,
)
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.sources.customerio.track import TrackPayloadError
from marketing_pipeline_tests.conftest import SPECS, TODAY

AT = datetime(2026, 5, 1, 12, tzinfo=UTC)


def messages(n: int, note_bytes: int = 2000) -> list[dict]:
    return [
        track_message(f"user-{i}", "order_placed", {"order_id": str(i), "note": "x" * note_bytes}, AT)
        for i in range(n)
    ]


def test_pack_keeps_every_batch_under_500_kb_and_loses_nothing():
    msgs = messages(600, note_bytes=3000)  # ~1.9 MB in all
    batches = list(pack(msgs))
    assert len(batches) >= 4
    assert [m for b in batches for m in b] == msgs
    for b in batches:
        assert len(json.dumps({"batch": b}, separators=(",", ":")).encode()) <= MAX_BATCH_BYTES


def test_a_message_over_32_kb_is_refused_naming_the_user():
    big = track_message("user-big", "order_placed", {"note": "x" * MAX_MESSAGE_BYTES}, AT)
    with pytest.raises(TrackPayloadError, match="user-big.*32 KB"):
        list(pack([identify_message("a", {"email": "a@example.com"}), big]))


@pytest.fixture
def cio():
    box = build(seed=7, today=TODAY)
    with BackgroundServer(box.app) as server:
        yield box.emulators["customerio"], server.url + "/customerio/app"


def test_batches_arrive_whole_over_http(cio):
    emulator, app_url = cio
    resource = CustomerIoResource(app_base_url=app_url, pipelines_api_key="sandbox-cio-pipelines-key")
    assert resource.pipelines_url().endswith("/customerio/cdp/v1")
    msgs = [identify_message("u1", {"email": "u1@example.com"}), *messages(300, note_bytes=3000)]
    with resource.pipelines_client() as client:
        calls = client.batch(msgs)
    assert calls >= 2 and emulator.pipelines_messages == msgs and emulator.pipelines_dropped == 0


def test_a_wrong_pipelines_key_is_an_auth_error(cio):
    _, app_url = cio
    resource = CustomerIoResource(app_base_url=app_url, pipelines_api_key="wrong")
    with resource.pipelines_client() as client, pytest.raises(AuthError):
        client.batch(messages(1))


@pytest.mark.skipif(
    not (SPECS / "customerio" / "pipelines-api.openapi.json").exists(),
    reason="Customer.io Pipelines spec not found in ../shared/specs/customerio",
)
def test_batch_body_matches_the_pipelines_schema():
    jsonschema = pytest.importorskip("jsonschema")
    spec = json.loads((SPECS / "customerio" / "pipelines-api.openapi.json").read_text())
    schema = spec["paths"]["/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = {"batch": [identify_message("u1", {"email": "u1@example.com"}), *messages(2, 10)]}
    jsonschema.Draft7Validator({k: v for k, v in schema.items() if k != "properties"}).validate(body)
    assert set(body) <= set(schema["properties"])
    branches = {b["title"]: b for b in schema["properties"]["batch"]["items"]["anyOf"]}
    for message in body["batch"]:
        # "Known User" and "Anonymous User" overlap (oneOf is ambiguous in the spec): check the known-user branch
        kinds = branches[message["type"].title()]["oneOf"]
        known = next(k for k in kinds if k["title"] == "Known User")
        jsonschema.Draft7Validator(known).validate(message)


PIPELINES_SPEC = SPECS / "customerio" / "pipelines-api.openapi.json"


def test_each_single_call_reaches_its_endpoint_and_matches_the_spec(cio):
    """identify, track, page, screen, group and alias on their own endpoints: what the emulator kept is
    what the client sent, and each body validates against that endpoint's request schema."""
    emulator, app_url = cio
    resource = CustomerIoResource(app_base_url=app_url, pipelines_api_key="sandbox-cio-pipelines-key")
    with resource.pipelines_client() as client:
        client.identify("u1@example.com", {"email": "u1@example.com"}, anonymous_id="anon-1")
        client.track("u1@example.com", "Order Completed", {"order_id": "o-1", "total": 42.5}, at=AT)
        client.page("u1@example.com", "Glow Serum", {"url": "https://shop.example/products/glow"})
        client.screen("u1@example.com", "Cart", {"items": 2})
        client.group("u1@example.com", "household-7", {"name": "The Smiths", "object_type_id": "1"})
        client.alias("anon-1", "u1@example.com")
        with pytest.raises(TrackPayloadError, match="32 KB"):
            client.track("u1@example.com", "Huge", {"note": "x" * MAX_MESSAGE_BYTES})
    kept = emulator.pipelines_messages
    assert [m["type"] for m in kept] == ["identify", "track", "page", "screen", "group"]
    assert kept[1]["event"] == "Order Completed" and kept[1]["timestamp"] == AT.isoformat()
    assert kept[4]["groupId"] == "household-7"
    assert emulator.pipelines_aliases == [
        {"type": "alias", "previousId": "anon-1", "userId": "u1@example.com"}
    ]
    if not PIPELINES_SPEC.exists():
        pytest.skip("Customer.io Pipelines spec not found in ../shared/specs/customerio")
    import jsonschema

    paths = json.loads(PIPELINES_SPEC.read_text())["paths"]
    for message in [*kept, *emulator.pipelines_aliases]:
        schema = paths[f"/{message['type']}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        # Known User and Anonymous User overlap (the spec's oneOf is ambiguous): check the known-user branch
        known = next((b for b in schema.get("oneOf", []) if b["title"] == "Known User"), schema)
        jsonschema.Draft7Validator(known).validate(message)


def test_a_single_call_of_the_wrong_shape_is_refused(cio):
    emulator, app_url = cio
    resource = CustomerIoResource(app_base_url=app_url, pipelines_api_key="sandbox-cio-pipelines-key")
    with resource.pipelines_client() as client, pytest.raises(Exception, match="400"):
        client.group("u1@example.com", "")  # a group call needs a groupId
    assert emulator.pipelines_messages == []
