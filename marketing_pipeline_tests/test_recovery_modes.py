"""The recovery sequence in each sender mode, end to end against the emulators over HTTP: switching is
configuration only (CART_RECOVERY_SENDER), every mode sends the three steps once (also when everything
runs again), a shopper who unsubscribes after the first email gets no more, and the recovery report
counts the same emails whichever sender sent them.

- sendgrid / customerio: the sensor and the recovery job send (SendGrid mail send; Customer.io
  transactional ``send/email``).
- platform_flow: the project sends nothing; it forwards the shopper events, the Customer.io
  workspace's own abandoned-cart campaign sends, and the report reads the deliveries it ingested.
"""

from datetime import UTC, datetime, time, timedelta

import dagster as dg
import httpx
import pytest

from marketing_pipeline.activation.shopper_events.assets import shopper_event_forwarding
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.cart_recovery import reporting, runner
from marketing_pipeline.cart_recovery.events import CartEvent
from marketing_pipeline.consent import suppress
from marketing_pipeline.sandbox.customerio import cart_flow
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.sources.customerio.assets import customerio_campaign_metrics, customerio_deliveries
from marketing_pipeline.sources.customerio.resource import VENDOR as CIO
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.sources.klaviyo.assets_catalog import klaviyo_flows
from marketing_pipeline.sources.klaviyo.assets_events import klaviyo_events
from marketing_pipeline.sources.klaviyo.assets_profiles import klaviyo_profiles
from marketing_pipeline.sources.klaviyo.resource import VENDOR as KLAVIYO
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.cart_support import events, record
from marketing_pipeline_tests.conftest import TODAY

T = datetime.combine(TODAY - timedelta(days=20), time(15), tzinfo=UTC)
TICKS = [timedelta(minutes=32), timedelta(hours=24, minutes=2), timedelta(hours=48, minutes=2)]
UNSUBSCRIBES = timedelta(hours=2)  # after the first email of every mode, before the second
ORDERS = timedelta(hours=3)  # likewise: the third shopper buys
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
MODES = {
    "sendgrid": {},
    "customerio": {"CART_RECOVERY_CUSTOMERIO_MESSAGE_IDS": "1,2,cart_offer"},
    "platform_flow": {"SHOPPER_EVENTS_DESTINATIONS": "customerio"},
}


def cart_events(cart_id: str, email: str) -> list[CartEvent]:
    checkout = CartEvent(
        event_id=f"{cart_id}:checkout_started:1",
        type="checkout_started",
        cart_id=cart_id,
        occurred_at=T + timedelta(minutes=1),
    )
    return [*events(cart_id, T, email), checkout]


def order(cart_id: str) -> list[CartEvent]:
    return [
        CartEvent(
            event_id=f"{cart_id}:order_completed",
            type="order_completed",
            cart_id=cart_id,
            occurred_at=T + ORDERS,
            order_id=f"O-{cart_id}",
            order_total="98.00",
        )
    ]


def mails_to(box, url: str, sender: str, email: str) -> int:
    if sender == "sendgrid":
        sent = httpx.get(f"{url}/sendgrid/_sandbox/messages").json()
        return sum(1 for m in sent if m["body"]["personalizations"][0]["to"][0]["email"] == email)
    cio = box.emulators["customerio"]
    if sender == "customerio":
        return sum(1 for m in cio.transactional_sent if m["to"] == email)
    return sum(1 for d in cio.cart_flow_deliveries() if d.person == email)


def resources() -> dict:
    return {
        "warehouse": WarehouseResource(),
        "klaviyo": KlaviyoResource(**KLAVIYO.values(), rate_limit_scale=100),
        "customerio": CustomerIoResource(**CIO.values()),
    }


def forward() -> None:
    assert dg.materialize(
        [shopper_event_forwarding], resources=resources(), run_config=QUIET, partition_key=DEFAULT_ID
    ).success


def ingest() -> None:
    """The platform's deliveries read back: the campaign catalog and the sequence's days (twice: the same rows)."""
    days = [(T + timedelta(days=n)).date().isoformat() for n in range(3)]
    for _ in range(2):
        assert dg.materialize(
            [customerio_campaign_metrics],
            partition_key=brand_day_key(DEFAULT_ID, days[0]),
            resources=resources(),
            run_config=QUIET,
        ).success
        for day in days:
            assert dg.materialize(
                [customerio_deliveries],
                partition_key=brand_day_key(DEFAULT_ID, day),
                resources=resources(),
                run_config=QUIET,
            ).success


def report(conn) -> dict[int, tuple[int, int]]:
    with conn.transaction():
        reporting.refresh(conn, RecoveryPolicy.from_env(), T + timedelta(days=4))
    rows = conn.execute(
        "SELECT step, sum(carts_abandoned), sum(emails_sent), sum(recovered_carts)"
        " FROM marts.cart_recovery_daily GROUP BY 1"
    ).fetchall()
    return {step: tuple(int(n) for n in counts) for step, *counts in rows}


@pytest.mark.parametrize("sender", list(MODES))
def test_each_sender_mode_sends_the_three_steps_once_and_keeps_the_exit_rules(
    sender, sandbox, warehouse_url, conn, vendor_env_for, monkeypatch
):
    box, url = sandbox
    vendor_env_for(url)
    monkeypatch.setenv("CART_RECOVERY_PUBLIC_URL", "http://links.test")
    monkeypatch.setenv("CART_RECOVERY_SENDER", sender)
    for var, value in MODES[sender].items():
        monkeypatch.setenv(var, value)
    cio = box.emulators["customerio"]
    tag = f"{sender.replace('_', '')}-{T:%m%d}"
    stays, leaves, buys = (f"{who}-{tag}@example.com" for who in ("stays", "leaves", "buys"))
    record(
        warehouse_url,
        cart_events(f"stays-{tag}", stays)
        + cart_events(f"leaves-{tag}", leaves)
        + cart_events(f"buys-{tag}", buys),
    )
    if sender == "platform_flow":
        forward()  # the schedule forwards them within minutes

    with dg.instance_for_test() as instance:
        cursor, job, requests, runs = None, runner.recovery_job(), [], []
        for n, after in enumerate(TICKS):
            if n == 1:  # after the first email one shopper unsubscribes and another buys
                suppress(conn, leaves, "customerio", "unsubscribed", T + UNSUBSCRIBES)
                record(warehouse_url, order(f"buys-{tag}"))
            ticked, cursor = runner.tick(instance, T + after, cursor)
            requests += ticked
            runs += [runner.execute(instance, request, job) for request in ticked]
        # everything again (a retry, a duplicate launch): nothing more goes out
        assert {runner.execute(instance, r, job).status for r in requests} <= {
            "already_sent",
            "already_skipped",
        }

    if sender == "platform_flow":
        assert requests == []  # the project sends nothing itself
        cio.clock = lambda: T + UNSUBSCRIBES  # the shopper unsubscribes in Customer.io
        try:
            with CustomerIoResource(**CIO.values()).track_client() as track:
                track.suppress(leaves)
            cio.clock = lambda: T + timedelta(days=4)
            forward()  # again: only the order is new (it ends that journey); nothing is triggered twice
            ingest()
            delivered = [d for d in cio.cart_flow_deliveries() if d.person in (stays, leaves, buys)]
        finally:
            cio.clock = lambda: datetime.now(UTC)
        assert sorted((d.person, d.action_id) for d in delivered) == sorted(
            [(stays, a) for a, _, _ in cart_flow.STEPS]
            + [(leaves, cart_flow.STEPS[0][0]), (buys, cart_flow.STEPS[0][0])]
        )
    else:
        # three steps for one cart; the others' second steps stopped by the exit rules, and no third
        assert sorted((r.cart_id.split("-")[0], r.step, r.status) for r in runs) == [
            ("buys", 1, "sent"),
            ("leaves", 1, "sent"),
            ("leaves", 2, "skipped"),
            ("stays", 1, "sent"),
            ("stays", 2, "sent"),
            ("stays", 3, "sent"),
        ]

    assert mails_to(box, url, sender, stays) == 3
    assert mails_to(box, url, sender, leaves) == 1
    assert mails_to(box, url, sender, buys) == 1
    # The report: three carts, five emails, the buyer recovered by the first, whichever sender sent them.
    assert report(conn) == {0: (3, 5, 1), 1: (3, 3, 1), 2: (1, 1, 0), 3: (1, 1, 0)}


def test_platform_flow_report_reads_klaviyo_flow_events(conn, monkeypatch):
    """Klaviyo's side of the platform-flow report, from ingested rows: the flow's Received Email events
    are the cart's steps in time order, a Clicked Email belongs to the step before it, another flow's
    email and an email outside the window are not the cart's, and the order after the second email is
    credited to it."""
    monkeypatch.setenv("CART_RECOVERY_SENDER", "platform_flow")
    conn.execute(
        "INSERT INTO ops.carts (cart_id, channel, email, item_count, subtotal, created_at, last_activity_at,"
        " converted_at, order_id, order_total)"
        " VALUES ('k1', 'website', 'k1@example.com', 1, 30, %(t)s, %(t)s, NULL, NULL, NULL),"
        "        ('k1-order', 'website', 'k1@example.com', 1, 55, %(o)s, %(o)s, %(o)s, 'O-k1', 55)",
        {"t": T, "o": T + timedelta(hours=30)},
    )
    conn.execute(
        "INSERT INTO raw.klaviyo_flows (flow_id, name, payload) VALUES ('F1', 'Abandoned Checkout', '{}'),"
        " ('F2', 'Welcome Series', '{}')"
    )
    conn.execute(
        "INSERT INTO raw.klaviyo_profiles (profile_id, email, updated_at, payload, partition_date)"
        " VALUES ('P1', 'K1@Example.com', %s, '{}', %s)",
        (T, T.date()),
    )
    rows = [
        ("e1", "Received Email", "F1", 2),
        ("e2", "Clicked Email", "F1", 3),
        ("e3", "Received Email", "F2", 4),  # another flow
        ("e4", "Received Email", "F1", 25),
        ("e5", "Received Email", "F1", 24 * 9),  # past the window: not about this cart
    ]
    for event_id, metric, flow, hours in rows:
        conn.execute(
            "INSERT INTO raw.klaviyo_events (event_id, metric_id, metric_name, profile_id, occurred_at,"
            " flow_id, payload, partition_date) VALUES (%s, 'm', %s, 'P1', %s, %s, '{}', %s)",
            (event_id, metric, T + timedelta(hours=hours), flow, T.date()),
        )
    with conn.transaction():
        reporting.refresh(conn, RecoveryPolicy.from_env(), T + timedelta(days=4))
    got = {
        step: (emails, clicked, recovered, after_click)
        for step, emails, clicked, recovered, after_click in conn.execute(
            "SELECT step, emails_sent, carts_clicked, recovered_carts, recovered_after_click"
            " FROM marts.cart_recovery_daily WHERE channel = 'website'"
        )
    }
    assert got == {0: (2, 1, 1, 1), 1: (1, 1, 0, 0), 2: (1, 0, 1, 1)}


def test_platform_flow_through_klaviyo(sandbox, warehouse_url, conn, vendor_env_for, monkeypatch):
    """The same sequence with Klaviyo as the platform: the forwarded Started Checkout starts the account's
    Abandoned Checkout flow; its Received Email events, ingested, are the report's emails."""
    box, url = sandbox
    vendor_env_for(url)
    monkeypatch.setenv("CART_RECOVERY_SENDER", "platform_flow")
    monkeypatch.setenv("SHOPPER_EVENTS_DESTINATIONS", "klaviyo")
    writes = box.emulators["klaviyo"].writes
    writes.reset()
    stays, leaves = "stays-kl@example.com", "leaves-kl@example.com"
    record(warehouse_url, cart_events("stays-kl", stays) + cart_events("leaves-kl", leaves))
    try:
        writes.clock = lambda: T + timedelta(minutes=5)  # the schedule forwards within minutes
        forward()
        writes.clock = lambda: T + UNSUBSCRIBES
        writes.suppress(leaves)  # the shopper unsubscribes from Klaviyo's first email
        writes.clock = lambda: T + timedelta(days=4)
        forward()  # again: nothing new is sent, so the flow starts once per cart
        assert writes.duplicate_events == 0
        emails = box.emulators["klaviyo"].cart_flow_emails()
        to = {pid: writes.profiles[pid]["email"] for pid in {e.profile_id for e in emails}}
        assert sorted(to[e.profile_id] for e in emails) == [leaves, stays, stays, stays]
        days = [(T + timedelta(days=n)).date().isoformat() for n in range(3)]
        run = {"resources": resources(), "run_config": QUIET}
        assert dg.materialize(
            [klaviyo_flows], partition_key=brand_day_key(DEFAULT_ID, days[0]), **run
        ).success
        assert dg.materialize(
            [klaviyo_profiles], partition_key=brand_day_key(DEFAULT_ID, days[0]), **run
        ).success
        for day in days:
            assert dg.materialize(
                [klaviyo_events], partition_key=brand_day_key(DEFAULT_ID, day), **run
            ).success
    finally:
        writes.reset()
    assert report(conn) == {0: (2, 4, 0), 1: (2, 2, 0), 2: (1, 1, 0), 3: (1, 1, 0)}
