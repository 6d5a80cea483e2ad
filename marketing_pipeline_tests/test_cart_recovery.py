"""Abandoned-cart recovery end to end: events -> sensor -> recovery job -> SendGrid emulator over HTTP.

Time is injected: the sensor and the job act at the clock the test sets.
"""

import re
import uuid
from datetime import timedelta
from decimal import Decimal
from html import escape

import dagster as dg
import httpx
import pytest

from marketing_pipeline.cart_recovery import outbox, runner
from marketing_pipeline.cart_recovery.events import CartEvent
from marketing_pipeline.consent import suppress
from marketing_pipeline.sandbox.discount_codes import sandbox_codes, seed_pool
from marketing_pipeline_tests.cart_support import T, events, messages, record, statuses


def test_an_abandoned_cart_gets_exactly_three_emails_on_time(cart_env, warehouse_url, conn):
    box, url, instance = cart_env
    cart = f"c-{uuid.uuid4().hex[:8]}"
    email = f"{cart}@example.com"
    record(warehouse_url, events(cart, T, email))
    seed_pool(conn, size=5, now=T)  # the store's codes: the offer takes one of them
    cursor, sent_at = None, {}
    job = runner.recovery_job()
    for minutes in [
        29,
        31,
        32,
        120,
        24 * 60 - 1,
        24 * 60 + 1,
        24 * 60 + 2,
        48 * 60 - 1,
        48 * 60 + 1,
        60 * 72,
    ]:
        now = T + timedelta(minutes=minutes)
        cursor, runs = runner.advance(instance, now, cursor, job)
        for r in runs:
            assert r.status == "sent", r
            sent_at[r.step] = minutes
    assert sent_at == {1: 31, 2: 24 * 60 + 1, 3: 48 * 60 + 1}
    mails = messages(url, cart)
    assert [m["personalizations"][0]["custom_args"]["step"] for m in mails] == ["1", "2", "3"]
    assert all(m["personalizations"][0]["to"] == [{"email": email}] for m in mails)
    assert mails[0]["categories"] == ["cart_recovery", "cart_recovery_reminder"]
    html = {c["type"]: c["value"] for c in mails[2]["content"]}
    code = conn.execute(
        "SELECT discount_code FROM ops.recovery_outbox WHERE cart_id = %s AND step = 3", (cart,)
    ).fetchone()[0]
    assert code and code in html["text/html"] and code in html["text/plain"]
    assert code in sandbox_codes(5) and conn.execute(
        "SELECT cart_id FROM ops.discount_codes WHERE code = %s", (code,)
    ).fetchone() == (cart,)
    for kind, text in html.items():
        assert "Glow Serum" in text and "Body Oil" in text and "$100.00" in text  # 2 x 34 + 32
        address = box.world.brand_address
        assert (escape(address) if kind == "text/html" else address) in text
        assert "http://links.test/r/" in text and "http://links.test/u/" in text
    assert "glow.jpg" in html["text/html"]
    assert statuses(conn, cart) == {1: "sent", 2: "sent", 3: "sent"}
    # two more ticks over the same state: nothing new
    assert runner.tick(instance, T + timedelta(hours=80), cursor)[0] == []


def test_two_ticks_over_the_same_state_request_nothing_new(cart_env, warehouse_url, conn):
    _, _, instance = cart_env
    carts = [f"c-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for i, c in enumerate(carts):
        record(warehouse_url, events(c, T, f"p{i}-{c}@example.com"))
    record(warehouse_url, events("no-email-" + carts[0], T, None))
    now = T + timedelta(minutes=45)
    first, cursor = runner.tick(instance, now, None)
    assert sorted(r.run_key for r in first) == sorted(f"{c}:1" for c in carts)
    again, cursor2 = runner.tick(instance, now, cursor)
    assert again == [] and cursor2 == cursor
    # a tick whose result was lost (old cursor) hands the same requests over again, same run keys
    replay, _ = runner.tick(instance, now, None)
    assert sorted(r.run_key for r in replay) == sorted(r.run_key for r in first)
    # the cart without an email is tracked but never requested
    assert conn.execute(
        "SELECT item_count, recovery_step FROM ops.carts WHERE cart_id = %s", ("no-email-" + carts[0],)
    ).fetchone() == (3, 0)


def test_an_order_stops_the_remaining_steps(cart_env, warehouse_url, conn):
    _, url, instance = cart_env
    cart, other = f"c-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    email = f"{cart}@example.com"
    record(warehouse_url, events(cart, T, email) + events(other, T, f"{other}@example.com"))
    cursor, runs = runner.advance(instance, T + timedelta(minutes=31), None)
    assert {(r.cart_id, r.status) for r in runs} == {(cart, "sent"), (other, "sent")}
    # the first cart's customer orders on this very cart; the other's orders through a new cart
    record(
        warehouse_url,
        [
            CartEvent(
                event_id=f"{cart}:order",
                type="order_completed",
                cart_id=cart,
                occurred_at=T + timedelta(hours=3),
                order_id="W-1",
                order_total=Decimal("100"),
            )
        ],
    )
    other_email = f"{other}@example.com"
    record(
        warehouse_url,
        events("new-" + other, T + timedelta(hours=5), other_email)
        + [
            CartEvent(
                event_id=f"new-{other}:order",
                type="order_completed",
                cart_id="new-" + other,
                occurred_at=T + timedelta(hours=5, minutes=1),
                order_id="W-2",
                order_total=Decimal("50"),
            )
        ],
    )
    cursor, runs = runner.advance(instance, T + timedelta(hours=24, minutes=1), cursor)
    # the converted cart is no longer due; the other is requested and the job's exit rule stops it
    assert [(r.cart_id, r.step, r.status) for r in runs] == [(other, 2, "skipped")]
    cursor, runs = runner.advance(instance, T + timedelta(hours=48, minutes=1), cursor)
    assert runs == []
    assert statuses(conn, cart) == {1: "sent"} and statuses(conn, other) == {1: "sent", 2: "skipped"}
    assert conn.execute(
        "SELECT recovery_exit_reason FROM ops.carts WHERE cart_id = %s", (other,)
    ).fetchone() == ("ordered",)
    assert len(messages(url, cart)) == 1 and len(messages(url, other)) == 1


def test_an_unsubscribe_link_stops_the_remaining_steps(cart_env, warehouse_url, conn):
    _, url, instance = cart_env
    from marketing_pipeline.sandbox.server import BackgroundServer
    from marketing_pipeline.web.app import create_app

    cart = f"c-{uuid.uuid4().hex[:8]}"
    record(warehouse_url, events(cart, T, f"{cart}@example.com"))
    cursor, runs = runner.advance(instance, T + timedelta(minutes=31), None)
    assert [r.status for r in runs] == ["sent"]
    text = next(c["value"] for c in messages(url, cart)[0]["content"] if c["type"] == "text/plain")
    token = re.search(r"http://links\.test/u/(\S+)", text).group(1)
    with BackgroundServer(create_app()) as web:
        confirm = httpx.get(f"{web.url}/u/{token}")  # the link in the email: a confirmation page
        page = httpx.post(f"{web.url}/u/{token}")  # its button
    assert confirm.status_code == 200 and 'method="post"' in confirm.text
    assert page.status_code == 200 and "unsubscribed" in page.text
    assert conn.execute(
        "SELECT source, reason FROM ops.suppressions WHERE email = %s", (f"{cart}@example.com",)
    ).fetchall() == [("recovery_link", "unsubscribed")]
    cursor, runs = runner.advance(instance, T + timedelta(hours=24, minutes=1), cursor)
    assert [(r.step, r.status) for r in runs] == [(2, "skipped")]
    assert runner.advance(instance, T + timedelta(hours=48, minutes=1), cursor)[1] == []
    assert len(messages(url, cart)) == 1


def test_a_suppression_from_another_platform_and_an_emptied_cart_stop_sending(cart_env, warehouse_url, conn):
    _, url, instance = cart_env
    a, b = f"c-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    record(warehouse_url, events(a, T, f"{a}@example.com") + events(b, T, f"{b}@example.com"))
    suppress(conn, f"{a}@example.com", "klaviyo", "unsubscribed")
    tick_requests, cursor = runner.tick(instance, T + timedelta(minutes=31), None)
    # b empties the cart after the sensor asked for the step, before the job runs
    record(
        warehouse_url,
        [
            CartEvent(
                event_id=f"{b}:empty",
                type="cart_updated",
                cart_id=b,
                items=[],
                occurred_at=T + timedelta(minutes=31),
            )
        ],
    )
    runs = {r.run_key: runner.execute(instance, r) for r in tick_requests}
    assert {k: v.status for k, v in runs.items()} == {f"{a}:1": "skipped", f"{b}:1": "skipped"}
    reasons = dict(
        conn.execute("SELECT cart_id, detail FROM ops.recovery_outbox WHERE cart_id IN (%s, %s)", (a, b))
    )
    assert reasons == {a: "suppressed", b: "emptied"}
    assert messages(url, a) == [] and messages(url, b) == []


def test_a_crash_between_claim_and_send_never_resends(cart_env, warehouse_url, conn):
    _, url, instance = cart_env
    cart = f"c-{uuid.uuid4().hex[:8]}"
    record(warehouse_url, events(cart, T, f"{cart}@example.com"))
    requests, _ = runner.tick(instance, T + timedelta(minutes=31), None)
    assert len(requests) == 1
    # a first run claimed the step and died before sending (no outcome recorded)
    assert outbox.claim(conn, cart, 1, "run-that-crashed", T + timedelta(minutes=31)) is not None
    retry = runner.execute(instance, requests[0])
    assert retry.status == "already_unknown"
    again = runner.execute(instance, requests[0])  # and any later retry finds it flagged
    assert again.status == "already_unknown"
    assert messages(url, cart) == []
    status, detail = conn.execute(
        "SELECT status, detail FROM ops.recovery_outbox WHERE cart_id = %s", (cart,)
    ).fetchone()
    assert status == "unknown" and "run-that-crashed" in detail


def test_a_second_run_of_a_sent_step_sends_nothing(cart_env, warehouse_url, conn):
    _, url, instance = cart_env
    cart = f"c-{uuid.uuid4().hex[:8]}"
    record(warehouse_url, events(cart, T, f"{cart}@example.com"))
    requests, _ = runner.tick(instance, T + timedelta(minutes=31), None)
    assert runner.execute(instance, requests[0]).status == "sent"
    assert runner.execute(instance, requests[0]).status == "already_sent"
    assert len(messages(url, cart)) == 1


def test_one_sequence_per_person_within_the_cap_window(cart_env, warehouse_url, conn):
    _, url, instance = cart_env
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    a, b = f"a-{email}", f"b-{email}"
    record(warehouse_url, events(a, T, email))
    record(warehouse_url, events(b, T + timedelta(hours=2), email))
    cursor, runs = runner.advance(instance, T + timedelta(minutes=31), None)
    assert [(r.cart_id, r.status) for r in runs] == [(a, "sent")]
    cursor, runs = runner.advance(instance, T + timedelta(hours=2, minutes=31), cursor)
    assert [(r.cart_id, r.status) for r in runs] == [(b, "skipped")]
    assert conn.execute("SELECT recovery_exit_reason FROM ops.carts WHERE cart_id = %s", (b,)).fetchone() == (
        "in_other_sequence",
    )


def test_quiet_hours_hold_requests_until_they_end(cart_env, warehouse_url, monkeypatch):
    _, _, instance = cart_env
    monkeypatch.setenv("CART_RECOVERY_QUIET_HOURS", "15-16")
    cart = f"c-{uuid.uuid4().hex[:8]}"
    record(warehouse_url, events(cart, T, f"{cart}@example.com"))
    assert runner.tick(instance, T + timedelta(minutes=31), None)[0] == []  # 15:31 UTC is quiet
    assert [r.run_key for r in runner.tick(instance, T + timedelta(minutes=61), None)[0]] == [f"{cart}:1"]


def test_policy_reads_its_overrides_and_names_a_bad_value():
    from marketing_pipeline.settings import SettingsError
    from marketing_pipeline.settings.recovery import RecoveryPolicy

    policy = RecoveryPolicy.from_env(
        {
            "CART_RECOVERY_STEP_DELAYS": "1h,12h,2d",
            "CART_RECOVERY_DISCOUNT_PERCENT": "15",
            "CART_RECOVERY_QUIET_HOURS": "21-8",
            "BRAND_ADDRESS": "1 Main St",
        }
    )
    assert [s.delay for s in policy.steps] == [timedelta(hours=1), timedelta(hours=12), timedelta(days=2)]
    assert policy.step(3).discount_percent == 15 and policy.brand_address == "1 Main St"
    assert (
        policy.is_quiet(T.replace(hour=23)) and policy.is_quiet(T.replace(hour=7)) and not policy.is_quiet(T)
    )
    with pytest.raises(SettingsError, match="CART_RECOVERY_STEP_DELAYS"):
        RecoveryPolicy.from_env({"CART_RECOVERY_STEP_DELAYS": "2d,1h,3h"})
    with pytest.raises(SettingsError, match="CART_RECOVERY_IDLE"):
        RecoveryPolicy.from_env({"CART_RECOVERY_IDLE": "soon"})


@pytest.mark.parametrize("faulty_sandbox", ["sendgrid:500=1.0"], indirect=True)
def test_a_send_with_an_unknown_outcome_is_flagged_and_never_repeated(
    faulty_sandbox, warehouse_url, conn, vendor_env_for
):
    box, url = faulty_sandbox
    vendor_env_for(url)
    cart = f"c-{uuid.uuid4().hex[:8]}"
    record(warehouse_url, events(cart, T, f"{cart}@example.com"))
    with dg.instance_for_test() as instance:
        requests, _ = runner.tick(instance, T + timedelta(minutes=31), None)
        assert runner.execute(instance, requests[0]).status == "unknown"
        assert runner.execute(instance, requests[0]).status == "already_unknown"
    assert box.injectors["sendgrid"].injected == {"500": 1}  # one attempt reached SendGrid, no retry
    assert statuses(conn, cart) == {1: "unknown"}
