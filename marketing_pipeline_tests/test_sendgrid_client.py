"""SendGrid client against the emulator over HTTP: mail send, errors, exactly-once, suppressions."""

import json
import uuid
from collections import Counter

import dagster as dg
import httpx
import pytest

from marketing_pipeline.cart_recovery.emails import mail_send_body, render
from marketing_pipeline.http import AuthError, VendorError
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.sources.sendgrid.assets import sendgrid_suppressions
from marketing_pipeline.sources.sendgrid.client import SendGridClient, SendOutcomeUnknown
from marketing_pipeline.sources.sendgrid.resource import SendGridResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.conftest import SPECS

KEY = "SG.sandbox-key"


def message(to: str = "c@example.com") -> dict:
    policy = RecoveryPolicy(
        brand_name="Lumen & Leaf",
        brand_address="500 Market Street, San Francisco",
        store_url="https://shop.lumenleaf.example",
        from_email="hello@lumenleaf.example",
    )
    step = policy.step(3)
    cart = {"currency": "USD", "email": to}
    items = [
        {
            "sku_id": "S1",
            "name": "Glow Serum",
            "variant": "30 ml",
            "quantity": 1,
            "unit_price": 34,
            "image_url": "https://x.example/s.jpg",
        }
    ]
    email = render(policy, step, cart, items, "https://l.example/r/t", "https://l.example/u/t", "BACK-1234")
    return mail_send_body(email, policy, f"cart-{uuid.uuid4().hex[:6]}", step)


def test_mail_send_is_accepted_and_kept(sandbox):
    box, url = sandbox
    body = message()
    with SendGridClient(url + "/sendgrid", KEY) as client:
        message_id = client.send_mail(body)
    assert message_id
    kept = httpx.get(f"{url}/sendgrid/_sandbox/messages").json()
    assert [m["body"] for m in kept if m["message_id"] == message_id] == [body]


def test_refusals_carry_sendgrids_field_and_message(sandbox):
    _, url = sandbox
    with SendGridClient(url + "/sendgrid", KEY, max_attempts=1) as client:
        with pytest.raises(VendorError) as bad:
            client.send_mail({"personalizations": [{"to": []}], "subject": "x"})
        assert bad.value.status == 400
        for field in ("personalizations.0.to", "from.email", "content"):
            assert field in str(bad.value)
    with SendGridClient(url + "/sendgrid", "SG.wrong") as client, pytest.raises(AuthError):
        client.send_mail(message())


@pytest.mark.parametrize("faulty_sandbox", ["sendgrid:500=1.0"], indirect=True)
def test_a_mail_send_that_may_have_arrived_is_never_retried(faulty_sandbox):
    box, url = faulty_sandbox
    with SendGridClient(url + "/sendgrid", KEY, backoff_base=0.01) as client:
        with pytest.raises(SendOutcomeUnknown):
            client.send_mail(message())
        assert client.stats.calls == 1 and client.stats.retries == 0


@pytest.mark.parametrize("faulty_sandbox", ["sendgrid:429=0.6,retry_after=0"], indirect=True)
def test_a_rate_limited_mail_send_is_retried_and_sent_once(faulty_sandbox):
    box, url = faulty_sandbox
    body = message(to=f"{uuid.uuid4().hex[:6]}@example.com")
    with SendGridClient(url + "/sendgrid", KEY, backoff_base=0.01, max_attempts=20) as client:
        client.send_mail(body)
        assert client.stats.retries == box.injectors["sendgrid"].injected.get("429", 0) > 0
    assert [m["body"] for m in box.emulators["sendgrid"].messages] == [body]


def test_suppression_pages_cover_each_list_once(sandbox):
    box, url = sandbox
    with SendGridClient(url + "/sendgrid", KEY) as client:
        for kind in ("unsubscribes", "bounces", "spam_reports"):
            rows = [r for page in client.suppression_pages(kind, limit=7) for r in page]
            expected = box.emulators["sendgrid"].suppression_list(kind)
            assert rows == expected and len(rows) > 7
            assert Counter(r["email"] for r in rows).most_common(1)[0][1] == 1


def test_suppressions_asset_feeds_ops_suppressions_idempotently(sandbox, warehouse_url, conn):
    box, url = sandbox
    resources = {
        "sendgrid": SendGridResource(base_url=url + "/sendgrid", api_key=KEY),
        "warehouse": WarehouseResource(),
    }
    assert dg.materialize([sendgrid_suppressions], resources=resources).success
    first = conn.execute(
        "SELECT email, reason, suppressed_at FROM ops.suppressions WHERE source = 'sendgrid'"
        " ORDER BY email, reason"
    ).fetchall()
    emulator = box.emulators["sendgrid"]
    expected = {
        r["email"] for k in ("unsubscribes", "bounces", "spam_reports") for r in emulator.suppression_list(k)
    }
    assert {r[0] for r in first} == expected
    assert dg.materialize([sendgrid_suppressions], resources=resources).success
    assert (
        conn.execute(
            "SELECT email, reason, suppressed_at FROM ops.suppressions WHERE source = 'sendgrid'"
            " ORDER BY email, reason"
        ).fetchall()
        == first
    )


def _schema(doc: dict, ref: dict) -> dict:
    """Inline local $refs so jsonschema can check against one component."""

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node and node["$ref"].startswith("#/"):
                target = doc
                for part in node["$ref"][2:].split("/"):
                    target = target[part]
                return walk(target)
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(ref)


def test_conformance_with_the_sendgrid_spec(sandbox):
    spec = SPECS / "sendgrid" / "tsg_mail_v3.json"
    if not spec.exists():
        pytest.skip(f"vendor specs not found at {spec}")
    import jsonschema

    doc = json.loads(spec.read_text())
    request_schema = _schema(
        doc, doc["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"]["schema"]
    )
    jsonschema.validate(message(), request_schema)
    error_schema = _schema(doc, doc["components"]["schemas"]["ErrorResponse"])
    _, url = sandbox
    r = httpx.post(
        f"{url}/sendgrid/v3/mail/send", json={"subject": "x"}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert r.status_code == 400
    jsonschema.validate(r.json(), error_schema)
    assert {e["field"] for e in r.json()["errors"]} >= {"personalizations", "from.email", "content"}
