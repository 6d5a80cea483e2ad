"""The segments from customer_predictions (likely_to_churn, high_predicted_value) synced like any other
segment, by configuration: a Klaviyo list and a Customer.io attribute over HTTP to the sandbox, equal
to marts.segment_members; and emptied when the snapshot's fit is flagged poor (its check fails)."""

from datetime import timedelta

import pytest

from marketing_pipeline.activation import model
from marketing_pipeline.activation.customerio.segments import sync_segment_attributes
from marketing_pipeline.activation.klaviyo.assets import klaviyo_list_sync, klaviyo_profile_sync
from marketing_pipeline.sandbox.app import build
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline_tests.conftest import TODAY
from marketing_pipeline_tests.klaviyo_activation_support import (
    NOW,
    materialize,
    rebuild_model,
    tiktok_order,
)

LISTS = {"Likely to churn": "likely_to_churn", "High predicted value": "high_predicted_value"}
CONFIG = {"ops": {"klaviyo_list_sync": {"config": {"extra_lists": LISTS}}}}
SNAPSHOT_DAYS_AGO = 10


@pytest.fixture
def klaviyo(sandbox, warehouse_url):
    box, url = sandbox
    writes = box.emulators["klaviyo"].writes
    writes.reset()
    yield writes, url
    writes.reset()  # the sandbox is shared


def predictions(conn) -> dict[str, str]:
    """Four buyers and a fitted snapshot ten days ago: ava high churn risk, leo in the top tenth of
    predicted CLV, mia neither, noah high churn risk but ordered after the snapshot (not churning)."""
    for n, (email, days_ago) in enumerate(
        [
            ("ava@example.com", 200),
            ("leo@example.com", 40),
            ("mia@example.com", 30),
            ("noah@example.com", 200),
        ]
    ):
        tiktok_order(conn, f"P{n}", email, "40.00", days_ago=days_ago, user_id=f"70{n}")
    tiktok_order(conn, "P9", "noah@example.com", "25.00", days_ago=2, user_id="703")
    rebuild_model()
    ids = dict(conn.execute("SELECT email, customer_id FROM core.customers WHERE email IS NOT NULL"))
    as_of = NOW.date() - timedelta(days=SNAPSHOT_DAYS_AGO)
    conn.execute(
        "INSERT INTO marts.customer_prediction_fits (as_of, customers, repeat_buyers, annual_discount_rate,"
        " converged, fit_ok) VALUES (%s, 4, 150, 0.1, true, true)",
        (as_of,),
    )
    for email, churn, percentile in [
        ("ava@example.com", 0.9, 0.2),
        ("leo@example.com", 0.1, 0.95),
        ("mia@example.com", 0.6, 0.5),
        ("noah@example.com", 0.85, 0.1),
    ]:
        risk = "high" if churn >= 0.8 else "medium" if churn >= 0.5 else "low"
        conn.execute(
            "INSERT INTO marts.customer_predictions (as_of, customer_id, frequency, recency_weeks, t_weeks,"
            " prob_alive, expected_purchases_30d, expected_purchases_90d, expected_purchases_365d,"
            " predicted_clv_12m, clv_percentile, churn_probability, churn_risk)"
            " VALUES (%s, %s, 0, 0, 30, 1, 0.1, 0.2, 0.5, 50, %s, %s, %s)",
            (as_of, ids[email], percentile, churn, risk),
        )
    rebuild_model()  # today's segments from that snapshot
    return ids


def test_prediction_segments_are_klaviyo_lists_only_while_the_fit_passes(klaviyo, conn):
    writes, url = klaviyo
    predictions(conn)
    assert materialize(url, [klaviyo_profile_sync, klaviyo_list_sync], run_config=CONFIG).success
    as_of = model.segments_as_of(conn)
    expected = {"Likely to churn": {"ava@example.com"}, "High predicted value": {"leo@example.com"}}
    for name, segment in LISTS.items():
        assert model.segment_emails(conn, segment, as_of) == expected[name], name
        assert writes.members(name) == expected[name], name

    # The same snapshot flagged poor (what fails customer_predictions_fit_ok): no segment, empty lists.
    conn.execute(
        "UPDATE marts.customer_prediction_fits SET fit_ok = false, problems = 'too few repeat buyers'"
    )
    assert materialize(url, [klaviyo_profile_sync, klaviyo_list_sync], run_config=CONFIG).success
    for name, segment in LISTS.items():
        assert model.segment_emails(conn, segment, model.segments_as_of(conn)) == set()
        assert writes.members(name) == set(), name


def test_prediction_segments_are_customerio_attributes(conn, warehouse_url):
    predictions(conn)
    box = build(seed=7, today=TODAY)
    with BackgroundServer(box.app) as server:
        resource = CustomerIoResource(
            app_base_url=server.url + "/customerio/app",
            site_id="sandbox-cio-site",
            track_api_key="sandbox-cio-track-key",
        )
        counts = sync_segment_attributes(
            conn, resource.track_client(backoff_base=0.01), list(LISTS.values()), None
        )
    people = box.emulators["customerio"].people
    assert counts.sent == 2
    assert people["ava@example.com"]["segment_likely_to_churn"] is True
    assert people["ava@example.com"]["segment_high_predicted_value"] is False
    assert people["leo@example.com"]["segment_high_predicted_value"] is True
    assert "mia@example.com" not in people and "noah@example.com" not in people  # in neither segment
