"""Identity resolution: email (case, whitespace), then E.164 phone, then platform ids; ids stable."""

from datetime import date, timedelta

from marketing_pipeline_tests.marts_fixtures import (
    at,
    build,
    build_one,
    customer_of,
    tiktok_order,
    website_order,
)

D = date(2025, 3, 10)


def test_normalisers(conn):
    emails = conn.execute(
        "SELECT core.norm_email('  Ann.Lee@Example.COM '), core.norm_email('not-an-email'),"
        " core.norm_email(NULL)"
    ).fetchone()
    assert emails == ("ann.lee@example.com", None, None)
    phones = [
        conn.execute("SELECT core.e164(%s)", (p,)).fetchone()[0]
        for p in [
            "(415) 555-0100",
            "415.555.0100",
            "1-415-555-0100",
            "+1 415 555 0100",
            "0044 20 7946 0958",
            "+44 20 7946 0958",
            "555-0100",
            "",
        ]
    ]
    assert phones == ["+14155550100"] * 4 + ["+442079460958", "+442079460958", None, None]


def test_email_case_and_whitespace_join_channels(conn):
    tiktok_order(conn, "T1", user="tt-1", email="  Ann@Example.com", phone=None, created=at(D))
    website_order(conn, "W1", email="ann@example.COM ", created=at(D + timedelta(days=1)))
    website_order(conn, "W2", email="bob@example.com", created=at(D + timedelta(days=1)))
    build(conn, D, D + timedelta(days=1))
    assert customer_of(conn, "tiktok_shop:T1") == customer_of(conn, "website:W1")
    assert customer_of(conn, "website:W2") != customer_of(conn, "website:W1")
    row = conn.execute(
        "SELECT email, tiktok_user_id, sources FROM core.customers WHERE customer_id = %s",
        (customer_of(conn, "website:W1"),),
    ).fetchone()
    assert row == ("ann@example.com", "tt-1", ["tiktok_shop", "website"])


def test_phone_formats_link_a_record_without_email(conn):
    tiktok_order(conn, "T1", user="tt-1", email="cara@example.com", phone="(415) 555-0101", created=at(D))
    # a second TikTok account, no email, same phone written another way
    tiktok_order(conn, "T2", user="tt-2", email=None, phone="+1 415.555.0101", created=at(D, 13))
    build(conn, D, D)
    assert customer_of(conn, "tiktok_shop:T2") == customer_of(conn, "tiktok_shop:T1")


def test_a_website_payload_is_read_wherever_it_keeps_the_phone_id_status_and_refund(conn):
    """Each website order's payload is read once (one decompression, not one per field): its phone
    and storefront id on the order or under customer / shipping_address, its status, cancellation
    and refund; a payload that is not an object gives none of them, and the build goes on."""
    website_order(
        conn,
        "W1",
        email="ada@example.com",
        created=at(D, 9),
        payload={"customer": {"phone": "(415) 555-0199", "id": "shop-7"}, "financial_status": "voided"},
    )
    website_order(
        conn,
        "W2",
        email="bo@example.com",
        created=at(D, 10),
        total="20.00",
        payload={
            "shipping_address": {"phone": "+1 415 555 0188"},
            "total_refunded": "5.00",
            "cancelled_at": "",
        },
    )
    website_order(conn, "W3", email="cy@example.com", created=at(D, 11), payload=[1, 2])  # not an object
    tiktok_order(conn, "T1", user="tt-1", email=None, phone="415.555.0188", created=at(D, 12))
    build(conn, D, D)
    orders = {
        key: rest
        for key, *rest in conn.execute(
            "SELECT order_key, status, is_cancelled, refunded_amount, net_revenue FROM core.orders"
        )
    }
    assert orders["website:W1"] == ["voided", True, 0, 0]
    assert orders["website:W2"] == ["placed", False, 5, 15]
    assert orders["website:W3"] == ["placed", False, 0, 50]
    ada = conn.execute(
        "SELECT phone, website_customer_id FROM core.customers WHERE email = 'ada@example.com'"
    ).fetchone()
    assert ada == ("+14155550199", "shop-7")
    assert customer_of(conn, "tiktok_shop:T1") == customer_of(conn, "website:W2")  # the shipping phone
    assert conn.execute(
        "SELECT phone, website_customer_id FROM core.customers WHERE email = 'cy@example.com'"
    ).fetchone() == (None, None)


def test_platform_id_links_when_email_and_phone_are_missing(conn):
    tiktok_order(conn, "T1", user="tt-9", email="dan@example.com", phone=None, created=at(D))
    tiktok_order(conn, "T2", user="tt-9", email=None, phone=None, created=at(D, 14))
    build(conn, D, D)
    assert customer_of(conn, "tiktok_shop:T2") == customer_of(conn, "tiktok_shop:T1")


def test_precedence_email_beats_a_shared_phone(conn):
    # Two people sharing a phone (a household) with different emails stay two customers;
    # the phone-only record goes to whoever had the phone first.
    tiktok_order(conn, "T1", user="tt-1", email="eve@example.com", phone="4155550102", created=at(D, 9))
    tiktok_order(conn, "T2", user="tt-2", email="frank@example.com", phone="4155550102", created=at(D, 10))
    tiktok_order(conn, "T3", user="tt-3", email=None, phone="415-555-0102", created=at(D, 11))
    build(conn, D, D)
    eve, frank, phone_only = (customer_of(conn, f"tiktok_shop:{k}") for k in ("T1", "T2", "T3"))
    assert eve != frank
    assert phone_only == eve
    # ...and email wins over a platform id: the same TikTok user with a new email is a new person
    # once that account already has an email.
    tiktok_order(conn, "T4", user="tt-1", email="eve.work@example.com", phone=None, created=at(D, 12))
    build(conn, D, D)
    assert customer_of(conn, "tiktok_shop:T4") != eve


def test_ids_are_stable_across_reruns_and_when_an_email_appears_later(conn):
    tiktok_order(conn, "T1", user="tt-7", email=None, phone=None, created=at(D))
    build(conn, D, D)
    first = customer_of(conn, "tiktok_shop:T1")
    assert first.startswith("cus_") and len(first) == 20
    build(conn, D, D)
    assert customer_of(conn, "tiktok_shop:T1") == first
    # the same account later shows an email: the customer keeps its id and gains the email
    tiktok_order(
        conn, "T2", user="tt-7", email="gia@example.com", phone=None, created=at(D + timedelta(days=3))
    )
    website_order(conn, "W1", email="GIA@example.com", created=at(D + timedelta(days=4)))
    build(conn, D, D + timedelta(days=4))
    assert {customer_of(conn, k) for k in ("tiktok_shop:T1", "tiktok_shop:T2", "website:W1")} == {first}
    assert (
        conn.execute("SELECT email FROM core.customers WHERE customer_id = %s", (first,)).fetchone()[0]
        == "gia@example.com"
    )
    # the identity map is append-only: nothing re-assigned
    before = conn.execute(
        "SELECT key_type, key_value, customer_id FROM core.customer_keys ORDER BY 1, 2"
    ).fetchall()
    build_one(conn, "core_customers")
    assert (
        conn.execute(
            "SELECT key_type, key_value, customer_id FROM core.customer_keys ORDER BY 1, 2"
        ).fetchall()
        == before
    )


def test_consent_is_the_latest_record_that_says_and_a_yes_and_no_at_once_is_a_no(conn):
    day2 = D + timedelta(days=1)
    website_order(conn, "D1", email="dee@example.com", created=at(D, 9), accepts_marketing=False)
    website_order(conn, "D2", email="dee@example.com", created=at(D, 13), accepts_marketing=True)
    website_order(conn, "D3", email="dee@example.com", created=at(day2), accepts_marketing=None)
    website_order(conn, "E1", email="eve@example.com", created=at(D, 9), accepts_marketing=True)
    website_order(conn, "E2", email="eve@example.com", created=at(D, 9), accepts_marketing=False)
    website_order(conn, "F1", email="fay@example.com", created=at(D), accepts_marketing=None)
    build(conn, D, day2)
    consent = {
        email: (accepts, subscribed)
        for email, accepts, subscribed in conn.execute(
            "SELECT email, accepts_marketing, subscribed_at FROM core.customers"
        )
    }
    assert consent == {
        "dee@example.com": (True, at(D, 13)),  # the later yes; an order saying nothing changes nothing
        "eve@example.com": (False, at(D, 9)),  # a yes and a no at one instant: no consent
        "fay@example.com": (None, None),
    }
