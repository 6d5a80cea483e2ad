from datetime import UTC, datetime

from marketing_pipeline import consent

T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 2, 1, tzinfo=UTC)


def test_latest_consent_decides_and_any_suppression_wins(conn):
    consent.record_consent(conn, "A@x.com ", True, "website.checkout", T1)
    consent.record_consent(conn, "b@x.com", True, "website.checkout", T1)
    consent.record_consent(conn, "b@x.com", False, "klaviyo", T2)
    consent.record_consent(conn, "c@x.com", True, "website.checkout", T1)
    consent.suppress(conn, "c@x.com", "sendgrid", "bounced")
    assert consent.may_subscribe(conn, ["a@x.com", "B@x.com", "c@x.com", "d@x.com"]) == {"a@x.com"}
    assert consent.suppressed(conn, ["C@X.com", "a@x.com"]) == {"c@x.com"}
    consent.suppress(conn, "c@x.com", "sendgrid", "bounced")  # idempotent
    assert conn.execute("SELECT count(*) FROM ops.suppressions").fetchone()[0] == 1
