"""Every attack of the public-endpoint probe, one test each (ids = attack names, from
``bench/attacks.py``): never a 5xx, never accepted wrongly, every refused body dead-lettered.
Then the attacks that need the recovery job: a poison cart, duplicate runs, concurrent carts."""

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bench import attacks
from marketing_pipeline.cart_recovery.send import process_step
from marketing_pipeline.cart_recovery.senders import SendGridSender
from marketing_pipeline.sandbox.credentials import SENDGRID_FROM_EMAIL
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.sources.sendgrid.client import SendGridClient
from marketing_pipeline.web.app import create_app
from marketing_pipeline_tests.cart_support import identified_cart

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SANDBOX_POLICY = RecoveryPolicy(
    brand_name=World.brand,
    brand_address=World.brand_address,
    store_url=World.store_url,
    from_email=SENDGRID_FROM_EMAIL,
)
NOW = T0 + timedelta(minutes=45)


@pytest.fixture(scope="module")
def web():
    with BackgroundServer(create_app()) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture
def attack_env(warehouse_url, monkeypatch):
    for var, value in attacks.ENV.items():
        monkeypatch.setenv(var, value)
    return attacks.seed_victim(warehouse_url)


@pytest.mark.parametrize("attack", attacks.ATTACKS, ids=[a.name for a in attacks.ATTACKS])
def test_attack(attack, web, attack_env, conn):
    result = attacks.run(attack, web, conn, attack_env)
    assert not result.server_error, f"{attack.name}: {result.status}"
    assert not result.accepted_wrongly, f"{attack.name}: {result.status}, expected {attack.expect}"
    assert not result.dead_letter_missing, f"{attack.name}: refused without a dead letter"


def test_forged_link_tokens_find_nothing(web, warehouse_url):
    codes = {web.get(f"/r/{secrets.token_urlsafe(24)}").status_code for _ in range(200)}
    assert codes == {404}


def test_dead_letter_of_a_body_with_nul_bytes_is_stored_escaped(web, attack_env, conn):
    body = b'{"event_id": "x\x00y"}\xff'
    r = web.post(
        "/intake/cart-events", content=body, headers={"Authorization": f"Bearer {attacks.WRITE_KEY}"}
    )
    assert r.status_code == 400
    payload, escaped = conn.execute("SELECT payload, payload_escaped FROM ops.dead_letters").fetchone()
    assert escaped and payload == '{"event_id": "x\\x00y"}\\xff'


def _step(url: str, sendgrid: str, cart_id: str, run_id: str) -> str:
    with SendGridClient(f"{sendgrid}/sendgrid", "SG.sandbox-key") as client:
        return process_step(url, SendGridSender(client), SANDBOX_POLICY, cart_id, 1, NOW, run_id).status


def _sent(sendgrid: str, cart_ids: set[str]) -> int:
    messages = httpx.get(f"{sendgrid}/sendgrid/_sandbox/messages").json()
    return sum(m["body"]["personalizations"][0]["custom_args"]["cart_id"] in cart_ids for m in messages)


def test_poison_cart_with_a_bc_date_fails_its_step_and_leaves_nothing_claimed(sandbox, warehouse_url, conn):
    """Bad data already in the table (stored before the intake's bounds): the step fails, visibly."""
    cart = f"c-poison-{uuid.uuid4().hex[:6]}"
    identified_cart(warehouse_url, cart, f"{cart}@example.com")
    conn.execute(
        "UPDATE ops.carts SET last_activity_at = '0001-01-01 00:00:00+14' WHERE cart_id = %s", (cart,)
    )
    assert _step(warehouse_url, sandbox[1], cart, "run-poison") == "failed"
    status, detail = conn.execute(
        "SELECT status, detail FROM ops.recovery_outbox WHERE cart_id = %s", (cart,)
    ).fetchone()
    assert status == "failed" and detail
    assert _sent(sandbox[1], {cart}) == 0


def test_twenty_concurrent_runs_of_one_step_send_once_and_report_duplicates(sandbox, warehouse_url, conn):
    cart = f"c-dup-{uuid.uuid4().hex[:6]}"
    identified_cart(warehouse_url, cart, f"{cart}@example.com")
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda i: _step(warehouse_url, sandbox[1], cart, f"run-{i}"), range(20)))
    assert statuses.count("sent") == 1
    assert set(statuses) <= {"sent", "duplicate", "already_sent"}, statuses  # never failed or unknown
    assert _sent(sandbox[1], {cart}) == 1
    assert conn.execute("SELECT status FROM ops.recovery_outbox WHERE cart_id = %s", (cart,)).fetchone() == (
        "sent",
    )


@pytest.mark.parametrize("trial", range(5))
def test_three_carts_of_one_person_processed_together_get_exactly_one_email(
    sandbox, warehouse_url, conn, trial
):
    email = f"three-{uuid.uuid4().hex[:6]}@example.com"
    carts = [f"c-three-{k}-{uuid.uuid4().hex[:6]}" for k in range(3)]
    for c in carts:
        identified_cart(warehouse_url, c, email)
    with ThreadPoolExecutor(3) as pool:
        statuses = list(pool.map(lambda c: _step(warehouse_url, sandbox[1], c, f"run-{c}"), carts))
    assert sorted(statuses) == ["sent", "skipped", "skipped"], statuses
    assert _sent(sandbox[1], set(carts)) == 1
    reasons = [r for (r,) in conn.execute("SELECT detail FROM ops.recovery_outbox WHERE status = 'skipped'")]
    assert reasons == ["in_other_sequence"] * 2


def test_every_recovery_email_carries_one_click_unsubscribe_headers_that_work(sandbox, warehouse_url, conn):
    cart = f"c-hdr-{uuid.uuid4().hex[:6]}"
    identified_cart(warehouse_url, cart, f"{cart}@example.com")
    assert _step(warehouse_url, sandbox[1], cart, "run-hdr") == "sent"
    (message,) = [
        m["body"]
        for m in httpx.get(f"{sandbox[1]}/sendgrid/_sandbox/messages").json()
        if m["body"]["personalizations"][0]["custom_args"]["cart_id"] == cart
    ]
    headers = message["headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    assert url.startswith(SANDBOX_POLICY.public_url) and "/u/" in url
    path = url[len(SANDBOX_POLICY.public_url) :]
    with BackgroundServer(create_app()) as server:
        # RFC 8058: the mail client POSTs this body to the URL, with no confirmation step
        r = httpx.post(server.url + path, data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200 and "unsubscribed" in r.text
    assert conn.execute("SELECT email FROM ops.suppressions").fetchall() == [(f"{cart}@example.com",)]


def test_restore_url_percent_encodes_the_cart_id():
    from marketing_pipeline.cart_recovery.send import target_url

    policy = RecoveryPolicy(store_url="https://shop.lumenleaf.example")
    url = target_url(policy, {"channel": "website", "cart_id": "a/../b?x=1#f", "product_url": None})
    assert url == "https://shop.lumenleaf.example/cart/restore/a%2F..%2Fb%3Fx%3D1%23f"
    foreign = {"channel": "tiktok_shop", "cart_id": "tts:1", "product_url": "https://evil.example/phish"}
    assert target_url(policy, foreign).startswith("https://shop.lumenleaf.example/cart/restore/tts%3A1")
