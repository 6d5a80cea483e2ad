"""Cart recovery can require recorded marketing consent (CART_RECOVERY_REQUIRE_CONSENT)."""

import uuid
from datetime import timedelta

from marketing_pipeline.cart_recovery import runner
from marketing_pipeline.consent import record_consent
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline_tests.cart_support import T, events, messages, record


def test_with_consent_required_only_consenting_shoppers_are_emailed(
    cart_env, warehouse_url, conn, monkeypatch
):
    _, url, instance = cart_env
    monkeypatch.setenv("CART_RECOVERY_REQUIRE_CONSENT", "true")
    yes, no, silent = (f"c-{uuid.uuid4().hex[:8]}" for _ in range(3))
    for cart in (yes, no, silent):
        record(warehouse_url, events(cart, T, f"{cart}@example.com"))
    record_consent(conn, f"{yes}@example.com", True, "website.checkout", T - timedelta(days=3))
    record_consent(conn, f"{no}@example.com", True, "website.checkout", T - timedelta(days=3))
    record_consent(conn, f"{no}@example.com", False, "klaviyo", T - timedelta(days=1))  # latest answer wins
    _, runs = runner.advance(instance, T + timedelta(minutes=31), None)
    assert sorted((r.cart_id, r.status) for r in runs) == sorted(
        [(yes, "sent"), (no, "skipped"), (silent, "skipped")]
    )
    reasons = dict(conn.execute("SELECT cart_id, detail FROM ops.recovery_outbox WHERE status = 'skipped'"))
    assert reasons == {no: "no_consent", silent: "no_consent"}
    assert len(messages(url, yes)) == 1 and messages(url, no) == [] and messages(url, silent) == []


def test_consent_is_not_required_by_default():
    assert RecoveryPolicy.from_env({}).require_consent is False
    assert RecoveryPolicy.from_env({"CART_RECOVERY_REQUIRE_CONSENT": "yes"}).require_consent is True
