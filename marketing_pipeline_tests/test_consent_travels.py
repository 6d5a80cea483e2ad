"""Consent travels: a suppression from any source reaches every other platform on the next sync,
checked in the Klaviyo, Customer.io and SendGrid emulators over loopback HTTP."""

from datetime import UTC, datetime

import dagster as dg
import pytest

from marketing_pipeline import consent
from marketing_pipeline.activation.assets import consent_sync
from marketing_pipeline.activation.klaviyo.assets import klaviyo_list_sync, klaviyo_profile_sync
from marketing_pipeline.cart_recovery import links
from marketing_pipeline.sandbox.app import build
from marketing_pipeline.sandbox.credentials import SENDGRID_API_KEY
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.sources.sendgrid.resource import SendGridResource
from marketing_pipeline.warehouse import WarehouseResource
from marketing_pipeline_tests.conftest import TODAY
from marketing_pipeline_tests.klaviyo_activation_support import (
    FAST,
    klaviyo_resource,
    rebuild_model,
    tiktok_order,
)

CIO = {"site_id": "sandbox-cio-site", "track_api_key": "sandbox-cio-track-key"}


@pytest.fixture
def box():
    """A sandbox of our own: the three emulators keep state, so each test starts empty."""
    sandbox = build(seed=7, today=TODAY)
    with BackgroundServer(sandbox.app) as server:
        yield sandbox, server.url


def resources(url: str) -> dict:
    return {
        "klaviyo": klaviyo_resource(url),
        "customerio": CustomerIoResource(app_base_url=url + "/customerio/app", **CIO),
        "sendgrid": SendGridResource(base_url=url + "/sendgrid", api_key=SENDGRID_API_KEY),
        "warehouse": WarehouseResource(),
    }


def run(url: str, assets, raise_on_error: bool = True):
    rebuild_model()
    selected = {a.key.path[-1] for a in assets}
    config = {"ops": {k: v for k, v in FAST["ops"].items() if k in selected}}
    return dg.materialize(
        assets,
        resources=resources(url),
        run_config=config,
        raise_on_error=raise_on_error,
        partition_key=DEFAULT_ID,
    )


def consent_history(conn) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT destination, status, sent FROM ops.sync_history WHERE sync = 'consent' ORDER BY id"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def unsubscribe_through_recovery_link(conn, email: str) -> None:
    now = datetime.now(UTC)
    token = links.create_link(conn, "unsubscribe", "cart-1", 1, email, None, now, None)
    assert links.unsubscribe(conn, token, now) is not None


def test_a_recovery_link_unsubscribe_reaches_klaviyo_customerio_and_sendgrid(box, conn):
    sandbox, url = box
    klaviyo = sandbox.emulators["klaviyo"].writes
    cio = sandbox.emulators["customerio"]
    sendgrid = sandbox.emulators["sendgrid"]
    for n, days in enumerate((10, 40, 70)):
        tiktok_order(conn, f"V{n}", "ava@example.com", "100.00", days_ago=days, user_id="u-ava")
    tiktok_order(conn, "L1", "leo@example.com", "40.00", days_ago=3, user_id="u-leo")
    everything = [consent_sync, klaviyo_profile_sync, klaviyo_list_sync]
    assert run(url, everything).success
    assert "ava@example.com" in klaviyo.members("VIP") and "ava@example.com" in klaviyo.members("Active")

    unsubscribe_through_recovery_link(conn, "ava@example.com")
    conn.execute("DELETE FROM ops.sync_history")
    assert run(url, everything).success

    assert klaviyo.suppressed.get("ava@example.com") == "UNSUBSCRIBE"  # unsubscribed in Klaviyo
    assert all("ava@example.com" not in klaviyo.members(n) for n in ("All Customers", "VIP", "Active"))
    assert cio.people["ava@example.com"]["unsubscribed"] is True  # Customer.io
    assert "ava@example.com" in sendgrid.global_unsubscribes  # SendGrid global unsubscribe
    assert "leo@example.com" not in sendgrid.global_unsubscribes and "leo@example.com" not in cio.people
    assert consent_history(conn) == {
        "klaviyo": ("succeeded", 1),
        "customerio": ("succeeded", 1),
        "sendgrid": ("succeeded", 1),
    }
    pushed = conn.execute("SELECT platform, reason, sources FROM ops.consent_pushes ORDER BY 1").fetchall()
    assert pushed == [
        ("customerio", "unsubscribed", ["recovery_link"]),
        ("klaviyo", "unsubscribed", ["recovery_link"]),
        ("sendgrid", "unsubscribed", ["recovery_link"]),
    ]

    # The next sync pushes nothing again.
    conn.execute("DELETE FROM ops.sync_history")
    jobs = len(klaviyo.unsubscription_jobs)
    assert run(url, [consent_sync]).success
    assert len(klaviyo.unsubscription_jobs) == jobs
    assert {k: v[1] for k, v in consent_history(conn).items()} == {
        "klaviyo": 0,
        "customerio": 0,
        "sendgrid": 0,
    }


def test_each_platform_gets_what_the_others_reported_and_gdpr_is_a_suppression(box, conn):
    sandbox, url = box
    consent.suppress(conn, "k@example.com", "klaviyo", "unsubscribed")
    consent.suppress(conn, "c@example.com", "customerio", "gdpr")
    consent.suppress(conn, "s@example.com", "sendgrid", "bounced")
    consent.suppress(conn, "g@example.com", "recovery_link", "gdpr")
    assert run(url, [consent_sync]).success
    klaviyo = sandbox.emulators["klaviyo"].writes
    cio = sandbox.emulators["customerio"]
    sendgrid = sandbox.emulators["sendgrid"]
    # Nobody gets back what it reported itself.
    assert set(klaviyo.suppressed) == {"c@example.com", "s@example.com", "g@example.com"}
    assert set(cio.people) == {"k@example.com", "s@example.com"}  # unsubscribed: true
    assert all(p["unsubscribed"] is True for p in cio.people.values())
    assert cio.suppressed == {"g@example.com"}  # a GDPR delete is suppressed, never re-added
    assert set(sendgrid.global_unsubscribes) == {"k@example.com", "c@example.com", "g@example.com"}


def test_a_failing_platform_is_recorded_and_the_others_still_get_their_pushes(box, conn):
    _, url = box
    consent.suppress(conn, "k@example.com", "recovery_link", "unsubscribed")
    res = resources(url)
    res["sendgrid"] = SendGridResource(base_url=url + "/sendgrid", api_key="SG.wrong", max_attempts=1)
    rebuild_model()
    result = dg.materialize([consent_sync], resources=res, raise_on_error=False, partition_key=DEFAULT_ID)
    assert not result.success
    assert consent_history(conn) == {
        "klaviyo": ("succeeded", 1),
        "customerio": ("succeeded", 1),
        "sendgrid": ("failed", 0),
    }
    assert {r[0] for r in conn.execute("SELECT platform FROM ops.consent_pushes")} == {
        "klaviyo",
        "customerio",
    }
    assert run(url, [consent_sync]).success  # the next run pushes only what is missing
    assert conn.execute("SELECT count(*) FROM ops.consent_pushes").fetchone()[0] == 3


def test_an_unconfigured_platform_is_left_for_later_and_the_others_get_their_pushes(box, conn):
    _, url = box
    consent.suppress(conn, "k@example.com", "recovery_link", "unsubscribed")
    res = resources(url)
    res["sendgrid"] = SendGridResource(base_url=url + "/sendgrid", api_key="")  # SENDGRID_API_KEY unset
    result = dg.materialize([consent_sync], resources=res, partition_key=DEFAULT_ID)
    assert result.success
    metadata = result.asset_materializations_for_node("consent_sync")[0].metadata
    assert metadata["sendgrid pushed"].value == "not configured" and metadata["klaviyo pushed"].value == 1
    assert {r[0] for r in conn.execute("SELECT platform FROM ops.consent_pushes")} == {
        "klaviyo",
        "customerio",
    }
