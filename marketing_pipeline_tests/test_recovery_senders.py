"""Recovery through the brand's sender (CART_RECOVERY_SENDER): Customer.io transactional messages and
platform-flow mode, with the same outbox claim and exit rules as SendGrid (test_cart_recovery.py)."""

import json
import uuid
from datetime import timedelta

import httpx
import pytest

from marketing_pipeline.cart_recovery import runner
from marketing_pipeline.consent import suppress
from marketing_pipeline.sandbox.discount_codes import seed_pool
from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline_tests.cart_support import T, events, record, statuses
from marketing_pipeline_tests.conftest import SPECS

STEPS = [31, 24 * 60 + 1, 48 * 60 + 1]


def sendgrid_mails(url: str, cart_id: str) -> list[dict]:
    sent = httpx.get(f"{url}/sendgrid/_sandbox/messages").json()
    return [m for m in sent if m["body"]["personalizations"][0]["custom_args"]["cart_id"] == cart_id]


def cio_mails(box, cart_id: str) -> list[dict]:
    return [
        m for m in box.emulators["customerio"].transactional_sent if m["message_data"]["cart_id"] == cart_id
    ]


@pytest.fixture
def customerio_mode(cart_env, monkeypatch):
    monkeypatch.setenv("CART_RECOVERY_SENDER", "customerio")
    monkeypatch.setenv("CART_RECOVERY_CUSTOMERIO_MESSAGE_IDS", "1,2,cart_offer")
    return cart_env


def test_customerio_sends_the_three_steps_once_with_the_cart_as_message_data(
    customerio_mode, warehouse_url, conn
):
    box, url, instance = customerio_mode
    cart = f"c-{uuid.uuid4().hex[:8]}"
    email = f"{cart}@example.com"
    record(warehouse_url, events(cart, T, email))
    seed_pool(conn, size=5, now=T)  # the store's codes: the offer takes one of them
    cursor, job = None, runner.recovery_job()
    requests = []
    for minutes in STEPS:
        tick, cursor = runner.tick(instance, T + timedelta(minutes=minutes), cursor)
        requests += tick
        assert [runner.execute(instance, r, job).status for r in tick] == ["sent"]
    # Every run again (a retry, a duplicate launch): nothing more is sent.
    assert {runner.execute(instance, r, job).status for r in requests} == {"already_sent"}
    mails = cio_mails(box, cart)
    assert [m["message_id"] for m in mails] == [1, 2, 3]
    assert [m["transactional_message_id"] for m in mails] == [1, 2, "cart_offer"]
    assert all(m["to"] == email and m["identifiers"] == {"email": email} for m in mails)
    assert all(m["send_to_unsubscribed"] is False for m in mails)
    data = mails[2]["message_data"]
    assert [i["name"] for i in data["items"]] == ["Glow Serum", "Body Oil"]
    assert data["subtotal"] == "100.00" and data["recover_url"].startswith("http://links.test/r/")
    code = conn.execute(
        "SELECT discount_code FROM ops.recovery_outbox WHERE cart_id = %s AND step = 3", (cart,)
    ).fetchone()[0]
    assert code and data["discount_code"] == code
    assert statuses(conn, cart) == {1: "sent", 2: "sent", 3: "sent"}
    assert sendgrid_mails(url, cart) == []


def test_customerio_mode_keeps_the_exit_rules(customerio_mode, warehouse_url, conn):
    box, url, instance = customerio_mode
    cart = f"c-{uuid.uuid4().hex[:8]}"
    email = f"{cart}@example.com"
    record(warehouse_url, events(cart, T, email))
    cursor, runs = runner.advance(instance, T + timedelta(minutes=31), None)
    assert [r.status for r in runs] == ["sent"]
    suppress(conn, email, "klaviyo", "unsubscribed")
    cursor, runs = runner.advance(instance, T + timedelta(hours=24, minutes=1), cursor)
    assert [r.status for r in runs] == ["skipped"]
    assert runner.advance(instance, T + timedelta(hours=48, minutes=1), cursor)[1] == []
    assert len(cio_mails(box, cart)) == 1


def test_platform_flow_mode_sends_nothing_here(cart_env, warehouse_url, monkeypatch):
    box, url, instance = cart_env
    monkeypatch.setenv("CART_RECOVERY_SENDER", "platform_flow")
    cart = f"c-{uuid.uuid4().hex[:8]}"
    record(warehouse_url, events(cart, T, f"{cart}@example.com"))
    cursor = None
    for minutes in STEPS:
        requests, cursor = runner.tick(instance, T + timedelta(minutes=minutes), cursor)
        assert requests == []
    assert sendgrid_mails(url, cart) == [] and cio_mails(box, cart) == []


def test_sender_settings_are_checked():
    assert RecoveryPolicy.from_env({}).sender == "sendgrid"
    policy = RecoveryPolicy.from_env(
        {"CART_RECOVERY_SENDER": "customerio", "CART_RECOVERY_CUSTOMERIO_MESSAGE_IDS": "7"}
    )
    assert policy.customerio_message_ids == ("7", "7", "7") and policy.customerio_message_id(2) == 7
    assert (
        "CART_RECOVERY_CUSTOMERIO_MESSAGE_IDS"
        in RecoveryPolicy.from_env({"CART_RECOVERY_SENDER": "customerio"}).missing_sender()
    )
    assert RecoveryPolicy.from_env({"CART_RECOVERY_SENDER": "platform_flow"}).missing_sender() == []
    with pytest.raises(SettingsError, match="CART_RECOVERY_SENDER"):
        RecoveryPolicy.from_env({"CART_RECOVERY_SENDER": "mailchimp"})
    with pytest.raises(SettingsError, match="MESSAGE_IDS"):
        RecoveryPolicy.from_env({"CART_RECOVERY_CUSTOMERIO_MESSAGE_IDS": "1,2"})


APP_SPEC = SPECS / "customerio" / "journeys-app-api.openapi.json"


@pytest.mark.skipif(not APP_SPEC.exists(), reason="Customer.io App API spec not found in ../shared/specs")
def test_transactional_requests_match_the_app_api_schema(customerio_mode, warehouse_url):
    import jsonschema

    box, url, instance = customerio_mode
    cart = f"c-{uuid.uuid4().hex[:8]}"
    record(warehouse_url, events(cart, T, f"{cart}@example.com"))
    runner.advance(instance, T + timedelta(minutes=31), None)
    spec = json.loads(APP_SPEC.read_text())
    schema = spec["paths"]["/v1/send/email"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    keep = {"delivery_id", "queued_at", "message_id"}  # what the emulator added when it kept the request
    for mail in cio_mails(box, cart):
        jsonschema.Draft7Validator(schema).validate({k: v for k, v in mail.items() if k not in keep})


@pytest.mark.parametrize(
    ("sender", "pool"),
    [("sendgrid", "sendgrid_api"), ("customerio", "customerio_api"), ("platform_flow", None)],
)
def test_the_recovery_job_takes_the_pool_of_the_vendor_that_sends(sender, pool, vendor_env_for, monkeypatch):
    vendor_env_for("http://127.0.0.1:9")
    monkeypatch.setenv("CART_RECOVERY_SENDER", sender)
    from marketing_pipeline import definitions

    job = definitions.defs.get_repository_def().get_job("cart_recovery_job")
    assert job.graph.node_named(runner.RECOVERY_OP).definition.pool == pool
    assert runner.recovery_job().graph.node_named(runner.RECOVERY_OP).definition.pool == pool
