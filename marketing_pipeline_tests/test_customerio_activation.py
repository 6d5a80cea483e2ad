"""Customer.io activation over HTTP against the emulator: dedupe, consent, suppression, GDPR, history."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from marketing_pipeline import consent
from marketing_pipeline.activation.customerio.jobs import customerio_order_events, customerio_person_job
from marketing_pipeline.activation.customerio.people import person_action
from marketing_pipeline.activation.customerio.segments import sync_segment_attributes
from marketing_pipeline.activation.customerio.sync import order_event_id, sync_order_events
from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.sandbox.app import build
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.customerio import ulid
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.conftest import TODAY
from marketing_pipeline_tests.klaviyo_activation_support import rebuild_model

CREDS = {"site_id": "sandbox-cio-site", "track_api_key": "sandbox-cio-track-key"}
DAY = datetime.combine(TODAY - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
BUYERS = ["ava@example.com", "leo@example.com", "mia@example.com", "noah@example.com"]


@pytest.fixture
def cio():
    """A sandbox of our own: the Track side keeps state, so each test starts empty."""
    box = build(seed=7, today=TODAY)
    with BackgroundServer(box.app) as server:
        yield box.emulators["customerio"], server.url


def add_orders(conn, n_per_buyer: int = 2) -> list[str]:
    ids = []
    for b, email in enumerate(BUYERS):
        for k in range(n_per_buyer):
            oid = f"57{b}{k:04d}"
            created = DAY + timedelta(hours=2 + b, minutes=k)
            conn.execute(
                "INSERT INTO raw.tiktok_shop_orders (order_id, status, buyer_user_id, buyer_email, currency,"
                " shipping_fee, seller_discount, platform_discount, tax, total_amount, line_count, created_at,"
                " updated_at, paid_at, payload, partition_date) VALUES (%s, 'COMPLETED', %s, %s, 'USD', 0, 0, 0, 0,"
                " 42.50, 1, %s, %s, %s, %s, %s)",
                (
                    oid,
                    f"u{b}",
                    email.upper() if k else email,
                    created,
                    created,
                    created,
                    json.dumps({"recipient_address": {"first_name": email.split("@")[0].title()}}),
                    created.date(),
                ),
            )
            ids.append(oid)
    rebuild_model()  # activation reads core.orders
    return ids


def client(url: str):
    return CustomerIoResource(app_base_url=url + "/customerio/app", **CREDS).track_client(backoff_base=0.01)


def window():
    return DAY, DAY + timedelta(days=1)


def test_ulids_are_deterministic_sortable_and_crockford():
    t = datetime(2026, 3, 1, 12, tzinfo=UTC)
    a, b = ulid.deterministic_ulid(t, "order:1"), ulid.deterministic_ulid(t, "order:1")
    assert a == b and len(a) == 26 and set(a) <= set(ulid.CROCKFORD)
    assert ulid.timestamp_ms(a) == int(t.timestamp() * 1000)
    assert ulid.deterministic_ulid(t, "order:2") != a
    assert ulid.deterministic_ulid(t + timedelta(milliseconds=1), "order:0") > a  # time orders them
    assert ulid.decode(ulid.encode(2**128 - 1)) == 2**128 - 1


def test_replays_send_no_duplicate_events(cio, conn):
    emulator, url = cio
    orders = add_orders(conn)
    with client(url) as c:
        counts, status = sync_order_events(conn, c, *window(), run_id="r1")
    assert status == "succeeded" and counts.sent == len(orders) and counts.updated == len(BUYERS)
    assert len(emulator.events) == len(orders) and emulator.event_posts == len(orders)
    assert {e["data"]["order_id"] for e in emulator.events.values()} == set(orders)
    with client(url) as c:  # a replay: the ledger skips everything
        counts, _ = sync_order_events(conn, c, *window(), run_id="r2")
    assert counts.sent == 0 and counts.skipped == len(orders) and emulator.event_posts == len(orders)
    conn.execute("DELETE FROM ops.customerio_sent_events")  # ledger lost: Customer.io de-duplicates by ULID
    with client(url) as c:
        sync_order_events(conn, c, *window(), run_id="r3")
    assert emulator.event_posts == 2 * len(orders) and len(emulator.events) == len(orders)
    assert set(emulator.events) == {
        order_event_id(o, t)
        for o, t in conn.execute("SELECT order_id, created_at FROM raw.tiktok_shop_orders")
    }
    history = conn.execute(
        "SELECT status, sent, skipped, failed FROM ops.sync_history WHERE destination = 'customerio'"
        " ORDER BY id"
    ).fetchall()
    assert history == [("succeeded", 8, 0, 0), ("succeeded", 0, 8, 0), ("succeeded", 8, 0, 0)]


def test_segments_are_attributes_and_a_suppressed_person_leaves_every_segment(cio, conn):
    emulator, url = cio
    add_orders(conn)
    segments = ["customer", "vip"]
    with client(url) as c:
        sync_segment_attributes(conn, c, segments, run_id=None)
    assert {e for e, p in emulator.people.items() if p.get("segment_customer")} == set(BUYERS)
    consent.suppress(conn, "ava@example.com", "klaviyo", "unsubscribed")
    with client(url) as c:
        counts = sync_segment_attributes(conn, c, segments, run_id=None)
        assert counts.sent == 1  # only the change goes out
        again = sync_segment_attributes(conn, c, segments, run_id=None)
    assert again.sent == 0
    assert emulator.people["ava@example.com"]["segment_customer"] is False
    assert emulator.people["ava@example.com"]["segment_vip"] is False
    assert emulator.people["leo@example.com"]["segment_customer"] is True


def test_suppression_is_honoured_and_subscription_needs_consent(cio, conn):
    emulator, url = cio
    add_orders(conn)
    at = datetime.now(UTC)
    consent.record_consent(conn, "ava@example.com", True, "website.checkout", at)
    consent.record_consent(conn, "leo@example.com", False, "website.checkout", at)
    consent.suppress(conn, "noah@example.com", "klaviyo", "unsubscribed")
    with client(url) as c:
        counts, status = sync_order_events(conn, c, *window())
    assert status == "succeeded" and counts.skipped == 2 and counts.sent == 6
    assert "noah@example.com" not in emulator.people
    assert all(e["customer"] != "noah@example.com" for e in emulator.events.values())
    assert emulator.people["ava@example.com"]["unsubscribed"] is False
    assert "unsubscribed" not in emulator.people["leo@example.com"]  # no consent: no subscription attributes
    assert "unsubscribed" not in emulator.people["mia@example.com"]
    assert emulator.people["mia@example.com"]["first_name"] == "Mia"
    last = conn.execute(
        "SELECT max(created_at) FROM raw.tiktok_shop_orders WHERE lower(buyer_email) = 'mia@example.com'"
    )
    assert emulator.people["mia@example.com"]["last_order_at"] == int(last.fetchone()[0].timestamp())


def test_suppress_unsuppress_and_gdpr_delete(cio, conn):
    emulator, url = cio
    with client(url) as c:
        person_action(conn, c, "suppress", "mia@example.com")
        assert "mia@example.com" in emulator.suppressed and consent.is_suppressed(conn, "mia@example.com")
        person_action(conn, c, "unsuppress", "mia@example.com")
        assert "mia@example.com" not in emulator.suppressed and not consent.is_suppressed(
            conn, "mia@example.com"
        )
        person_action(conn, c, "delete", "42", email="kai@example.com")
        with pytest.raises(ValueError, match="action must be one of"):
            person_action(conn, c, "forget", "42")
    assert emulator.deleted == ["42"]
    assert conn.execute("SELECT reason FROM ops.suppressions WHERE email = 'kai@example.com'").fetchone() == (
        "gdpr",
    )
    syncs = [r[0] for r in conn.execute("SELECT sync FROM ops.sync_history ORDER BY id")]
    assert syncs == ["person_suppress", "person_unsuppress", "person_delete"]


def test_wrong_track_credentials_fail_the_sync_and_record_it(cio, conn):
    emulator, url = cio
    add_orders(conn, 1)
    bad = CustomerIoResource(app_base_url=url + "/customerio/app", site_id="x", track_api_key="y")
    with bad.track_client(backoff_base=0.01) as c:
        counts, status = sync_order_events(conn, c, *window())
    assert status == "failed" and counts.failed == len(BUYERS) and "401" in counts.errors[0]["error"]
    assert not emulator.events
    assert conn.execute("SELECT status, failed FROM ops.sync_history").fetchone() == ("failed", len(BUYERS))


def test_dagster_asset_and_person_job(cio, warehouse_url, conn):
    emulator, url = cio
    orders = add_orders(conn, 1)
    resources = {
        "customerio": CustomerIoResource(app_base_url=url + "/customerio/app", **CREDS),
        "warehouse": WarehouseResource(),
    }
    result = dg.materialize(
        [customerio_order_events], partition_key=brand_day_key(DEFAULT_ID, DAY.date()), resources=resources
    )
    assert result.success and len(emulator.events) == len(orders)
    mat = result.asset_materializations_for_node("customerio_order_events")[0]
    assert mat.metadata["sent"].value == len(orders)
    job = customerio_person_job.execute_in_process(
        run_config={
            "ops": {"customerio_person_op": {"config": {"action": "delete", "identifier": "ava@example.com"}}}
        },
        resources=resources,
    )
    assert job.success and emulator.deleted == ["ava@example.com"]
