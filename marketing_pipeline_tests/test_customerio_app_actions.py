"""Customer.io App API actions (client, CLI) against the emulator over HTTP; requests the client sent
and responses the emulator gave are validated against the App API spec."""

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from marketing_pipeline.cli import main
from marketing_pipeline.sandbox.credentials import CUSTOMERIO_APP_API_KEY
from marketing_pipeline.sources.customerio.resource import VENDOR, CustomerIoResource
from marketing_pipeline.sources.customerio.ulid import deterministic_ulid
from marketing_pipeline_tests.conftest import SPECS
from marketing_pipeline_tests.spec_support import openapi_nullable

SPEC = SPECS / "customerio" / "journeys-app-api.openapi.json"
AT = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.fixture
def cio(sandbox, vendor_env_for):
    box, url = sandbox
    vendor_env_for(url)
    resource = CustomerIoResource(**VENDOR.values())
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    with resource.track_client() as track:
        track.identify(email, {"email": email, "plan": "vip", "first_name": "Ava"})
        track.track(
            email, "order_placed", event_id=deterministic_ulid(AT, email), timestamp=int(AT.timestamp())
        )
    emulator = box.emulators["customerio"]
    # The sandbox is shared by the module's tests: the App API's 10/s window starts empty for each,
    # so the raw calls below (which do not wait out a 429 as the client does) never meet it.
    emulator.forget_recent_requests()
    with resource.app_client() as client:
        yield emulator, client, email, url


def spec_schema(path: str, method: str, part: str = "request") -> dict:
    if not SPEC.exists():
        pytest.skip(f"Customer.io App API spec not found at {SPEC}")
    op = openapi_nullable(json.loads(SPEC.read_text()))["paths"][path][method]
    if part == "request":
        return op["requestBody"]["content"]["application/json"]["schema"]
    return op["responses"]["200"]["content"]["application/json"]["schema"]


def _any_of(node):
    """The spec's ``oneOf`` branches are open objects that overlap (every filter is also an empty
    ``or``): read them as ``anyOf``, so a body must match at least one."""
    if isinstance(node, list):
        return [_any_of(n) for n in node]
    if not isinstance(node, dict):
        return node
    return {("anyOf" if k == "oneOf" else k): _any_of(v) for k, v in node.items()}


def validate(instance, schema) -> None:
    import jsonschema

    jsonschema.Draft7Validator(_any_of(schema)).validate(instance)


def test_trigger_a_broadcast_for_chosen_emails(cio):
    emulator, client, email, _ = cio
    broadcast_id = emulator.workspace.broadcasts()[0]["id"]
    trigger_id = client.trigger_broadcast(broadcast_id, emails=[email], data={"headline": "Spring"})
    sent = emulator.broadcast_triggers[-1]
    assert sent["id"] == trigger_id and sent["emails"] == [email] and sent["data"] == {"headline": "Spring"}
    body = {k: v for k, v in sent.items() if k not in ("id", "broadcast_id")}
    # The spec's audiences overlap ("Default audience" admits any object): check the one meant.
    branches = spec_schema("/v1/campaigns/{broadcast_id}/triggers", "post")["oneOf"]
    validate(body, next(b for b in branches if b["title"] == "Emails"))
    validate({"id": trigger_id}, spec_schema("/v1/campaigns/{broadcast_id}/triggers", "post", "response"))
    with pytest.raises(Exception, match="404"):
        client.trigger_broadcast(999999)


def test_send_a_push(cio):
    emulator, client, email, _ = cio
    response = client.send_push(4, email, {"order_id": "o-1"}, title="Shipped")
    kept = emulator.pushes_sent[-1]
    assert (
        kept["identifiers"] == {"email": email}
        and kept["to"] == "all"
        and kept["send_to_unsubscribed"] is False
    )
    validate(
        {k: v for k, v in kept.items() if k not in ("delivery_id", "queued_at", "message_id")},
        spec_schema("/v1/send/push", "post"),
    )
    validate(response, spec_schema("/v1/send/push", "post", "response"))
    with pytest.raises(Exception, match="400"):
        client.send_push(999, email)


def test_look_up_and_search_people(cio):
    _, client, email, url = cio
    found = client.customers_by_email(email)
    assert [p["email"] for p in found] == [email]
    raw = httpx.get(
        f"{url}/customerio/app/v1/customers",
        params={"email": email},
        headers={"Authorization": f"Bearer {CUSTOMERIO_APP_API_KEY}"},
    ).json()
    validate(raw, spec_schema("/v1/customers", "get", "response"))
    flt = {"and": [{"attribute": {"field": "email", "operator": "eq", "value": email}}]}
    validate({"filter": flt}, spec_schema("/v1/customers", "post"))
    pages = list(client.search_customers(flt, limit=1))
    assert [p["email"] for page in pages for p in page] == [email]
    vips = [
        p
        for page in client.search_customers(
            {"attribute": {"field": "plan", "operator": "eq", "value": "vip"}}, limit=1
        )
        for p in page
    ]
    assert email in {p["email"] for p in vips}


def test_a_persons_attributes_and_activities(cio):
    _, client, email, url = cio
    customer = client.customer_attributes(email, id_type="email")
    assert customer["attributes"]["plan"] == "vip" and customer["identifiers"]["email"] == email
    headers = {"Authorization": f"Bearer {CUSTOMERIO_APP_API_KEY}"}
    raw = httpx.get(
        f"{url}/customerio/app/v1/customers/{email}/attributes", params={"id_type": "email"}, headers=headers
    ).json()
    validate(raw, spec_schema("/v1/customers/{customer_id}/attributes", "get", "response"))
    activities = [a for page in client.customer_activities(email, id_type="email") for a in page]
    assert [a["name"] for a in activities if a["type"] == "event"] == ["order_placed"]
    raw = httpx.get(
        f"{url}/customerio/app/v1/customers/{email}/activities", params={"id_type": "email"}, headers=headers
    ).json()
    validate(raw, spec_schema("/v1/customers/{customer_id}/activities", "get", "response"))
    with pytest.raises(Exception, match="404"):
        client.customer_attributes("nobody-here")


def test_the_cli_prints_json(cio, capsys):
    emulator, _, email, _ = cio
    assert main(["customerio", "find", email]) == 0
    assert json.loads(capsys.readouterr().out)[0]["email"] == email
    assert main(["customerio", "attributes", email, "--id-type", "email"]) == 0
    assert json.loads(capsys.readouterr().out)["attributes"]["first_name"] == "Ava"
    assert main(["customerio", "search", "plan=vip"]) == 0
    assert email in {p["email"] for p in json.loads(capsys.readouterr().out)}
    assert main(["customerio", "activities", email, "--id-type", "email", "--type", "event"]) == 0
    assert [a["name"] for a in json.loads(capsys.readouterr().out)] == ["order_placed"]
    broadcast_id = str(emulator.workspace.broadcasts()[0]["id"])
    assert main(["customerio", "broadcast", broadcast_id, "--email", email, "--data", '{"a": 1}']) == 0
    assert "trigger_id" in json.loads(capsys.readouterr().out)
    assert main(["customerio", "push", "order_shipped_push", email]) == 0
    assert "delivery_id" in json.loads(capsys.readouterr().out)


def test_search_and_transactional_answers_match_the_spec(cio):
    """The two answers the tests above do not read raw: the search page and the transactional send."""
    _, _, email, url = cio
    headers = {"Authorization": f"Bearer {CUSTOMERIO_APP_API_KEY}"}
    flt = {"and": [{"attribute": {"field": "email", "operator": "eq", "value": email}}]}
    page = httpx.post(
        f"{url}/customerio/app/v1/customers", params={"limit": 1}, json={"filter": flt}, headers=headers
    )
    assert page.status_code == 200 and [p["email"] for p in page.json()["identifiers"]] == [email]
    validate(page.json(), spec_schema("/v1/customers", "post", "response"))
    body = {
        "transactional_message_id": "cart_reminder",
        "to": email,
        "identifiers": {"email": email},
        "message_data": {"cart_id": "c-1"},
        "send_to_unsubscribed": False,
    }
    validate(body, spec_schema("/v1/send/email", "post"))
    sent = httpx.post(f"{url}/customerio/app/v1/send/email", json=body, headers=headers)
    assert sent.status_code == 200 and sent.json()["delivery_id"]
    validate(sent.json(), spec_schema("/v1/send/email", "post", "response"))
