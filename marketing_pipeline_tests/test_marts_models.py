"""Marts on hand-built fixtures: RFM at quintile boundaries, attribution windows at their edges,
refunds and cancellations, segments over time, and a missing source shown as missing."""

import random
from datetime import date, timedelta

import psycopg
import pytest

from marketing_pipeline.marts.assets import build_segments
from marketing_pipeline.marts.gates import (
    customers_keys_unique,
    orders_keys_and_lines,
    orders_revenue_reconciles,
)
from marketing_pipeline_tests.marts_fixtures import (
    at,
    build,
    cio_click,
    customer_of,
    tiktok_order,
    website_order,
)

D = date(2025, 3, 1)


def test_rfm_scores_and_names_at_quintile_boundaries(conn):
    # customer i (1..6): i orders of 10*i on the days up to D+i; c7 is a copy of c3 (a tie).
    for i in range(1, 7):
        for k in range(i):
            website_order(
                conn,
                f"W{i}-{k}",
                email=f"c{i}@example.com",
                created=at(D + timedelta(days=i - k)),
                total=f"{10 * i}.00",
            )
    for k in range(3):
        website_order(
            conn, f"W7-{k}", email="c7@example.com", created=at(D + timedelta(days=3 - k)), total="30.00"
        )
    build(conn, D, D + timedelta(days=6))
    rows = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT c.email, r.as_of, r.recency_days, r.frequency, r.monetary, r.r, r.f, r.m, r.segment"
            " FROM marts.rfm r JOIN core.customers c USING (customer_id)"
        )
    }
    # n = 7 ranked worst to best: c1, c2, (c3, c7), c4, c5, c6 -> ranks 1, 2, 3, 3, 5, 6, 7;
    # score = 1 + 5 * (rank - 1) // 6 -> 1, 1, 2, 2, 4, 5, 5 (rank 7 gives 6, capped at 5).
    expected = {"c1": 1, "c2": 1, "c3": 2, "c7": 2, "c4": 4, "c5": 5, "c6": 5}
    names = {1: "Lost", 2: "Hibernating", 4: "Champions", 5: "Champions"}
    for who, score in expected.items():
        as_of, recency, freq, money, r, f, m, segment = rows[f"{who}@example.com"]
        assert as_of == D + timedelta(days=6)  # the running month ends at the latest order day
        assert (r, f, m) == (score, score, score), who
        assert segment == names[score], who
    assert rows["c6@example.com"][1:4] == (0, 6, 360)
    assert rows["c1@example.com"][1:4] == (5, 1, 10)


def test_rfm_scores_equal_ranked_quintiles_for_many_ties(conn):
    # 37 customers over two months, orders and totals drawn from few values (many ties): every
    # snapshot's scores equal 1 + 5 * (rank - 1) // (n - 1), capped at 5, ranks computed here.
    rng = random.Random(17)
    first = date(2025, 1, 20)
    for c in range(37):
        for k in range(rng.choice([1, 1, 2, 3])):
            day = first + timedelta(days=rng.randrange(0, 26))
            total = rng.choice(["10.00", "20.00", "20.00", "35.50"])
            website_order(conn, f"T{c}-{k}", email=f"t{c}@example.com", created=at(day, 10 + k), total=total)
    last = date(2025, 2, 14)
    website_order(conn, "T-last", email="t0@example.com", created=at(last), total="10.00")
    build(conn, first, last)
    rows = conn.execute(
        "SELECT as_of, customer_id, recency_days, frequency, monetary, r, f, m FROM marts.rfm"
    ).fetchall()
    assert {r[0] for r in rows} == {date(2025, 1, 31), last}
    for as_of in {r[0] for r in rows}:
        snap = [r for r in rows if r[0] == as_of]
        d = max(len(snap) - 1, 1)

        def score(value, values, worse, d=d):
            return min(5, 1 + 5 * sum(1 for v in values if worse(v, value)) // d)

        for _, who, recency, freq, money, r, f, m in snap:
            assert r == score(recency, [s[2] for s in snap], lambda v, x: v > x), (as_of, who)
            assert f == score(freq, [s[3] for s in snap], lambda v, x: v < x), (as_of, who)
            assert m == score(money, [s[4] for s in snap], lambda v, x: v < x), (as_of, who)


def test_rfm_map_names_every_cell_with_the_eleven_segments(conn):
    cells = conn.execute("SELECT count(*), count(DISTINCT segment) FROM marts.rfm_segment_map").fetchone()
    assert cells == (25, 11)
    lookup = dict(
        ((r, fm), s) for r, fm, s in conn.execute("SELECT r, fm, segment FROM marts.rfm_segment_map")
    )
    assert lookup[(5, 5)] == "Champions" and lookup[(1, 5)] == "Cannot Lose Them" and lookup[(5, 1)] == "New"
    assert lookup[(2, 4)] == "At Risk" and lookup[(3, 3)] == "Need Attention" and lookup[(1, 1)] == "Lost"


def test_an_rfm_score_without_a_segment_is_refused_not_dropped(conn):
    for i in range(1, 4):
        website_order(
            conn, f"S{i}", email=f"s{i}@example.com", created=at(D + timedelta(days=i)), total="10.00"
        )
    build(conn, D, D + timedelta(days=3))
    assert conn.execute("SELECT count(*) FROM marts.rfm").fetchone()[0] == 3
    conn.execute("DELETE FROM marts.rfm_segment_map WHERE r = 5")  # the best recency has no name now
    with pytest.raises(psycopg.errors.NotNullViolation, match="segment"):
        build(conn, D, D + timedelta(days=3), full=True)
    assert conn.execute("SELECT count(*) FROM marts.rfm").fetchone()[0] == 3  # the last good build stays


def _attribution(conn, columns: str) -> dict[str, tuple]:
    """marts.attribution's ``columns`` by order key."""
    return {r[0]: r[1:] for r in conn.execute(f"SELECT order_key, {columns} FROM marts.attribution")}


def test_attribution_window_edges_and_first_versus_last_touch(conn, monkeypatch):
    t = at(D + timedelta(days=10), 15, 30, 0)
    website_order(conn, "IN", email="in@example.com", created=t)
    cio_click(conn, "d-in", email="in@example.com", clicked=t - timedelta(days=5), newsletter=1)
    website_order(conn, "OUT", email="out@example.com", created=t)
    cio_click(conn, "d-out", email="out@example.com", clicked=t - timedelta(days=5, seconds=1), newsletter=1)
    website_order(conn, "TWO", email="two@example.com", created=t, utm=("google", "cpc", "spring"))
    cio_click(
        conn, "d-two-a", email="two@example.com", clicked=t - timedelta(days=4), newsletter=None, campaign=7
    )
    cio_click(conn, "d-two-b", email="two@example.com", clicked=t - timedelta(days=1), newsletter=2)
    conn.execute(
        "INSERT INTO raw.customerio_campaigns (kind, object_id, name, payload) VALUES"
        " ('newsletter', 1, 'March news', '{}'), ('campaign', 7, 'Welcome flow', '{}')"
    )
    build(conn, D, D + timedelta(days=10))
    got = _attribution(
        conn,
        "first_touch_channel, first_touch_campaign, first_touch_flow, last_touch_channel,"
        " last_touch_campaign, last_touch_platform",
    )
    assert got["website:IN"] == ("email", "March news", None, "email", "March news", "customerio")
    assert got["website:OUT"] == ("direct", None, None, "direct", None, None)
    assert got["website:TWO"] == ("email", None, "Welcome flow", "paid_search", "spring", None)
    by_model = {
        (m, c, f): (n, r)
        for m, c, f, n, r in conn.execute(
            "SELECT model, campaign, flow, orders, revenue FROM marts.campaign_revenue WHERE channel = 'email'"
        )
    }
    assert by_model == {
        ("first_touch", "March news", None): (1, 50),
        ("first_touch", None, "Welcome flow"): (1, 50),
        ("last_touch", "March news", None): (1, 50),
    }
    # a longer window takes the click 5 days + 1 second back
    monkeypatch.setenv("ATTRIBUTION_WINDOW_DAYS", "6")
    build(conn, D, D + timedelta(days=10))
    assert (
        conn.execute(
            "SELECT last_touch_channel FROM marts.attribution WHERE order_key = 'website:OUT'"
        ).fetchone()[0]
        == "email"
    )
    email = conn.execute(
        "SELECT conversions, revenue FROM marts.email_daily WHERE platform = 'customerio' AND day = %s",
        (t.date(),),
    ).fetchone()
    assert email == (2, 100)


def test_attribution_ties_at_one_instant(conn):
    t = at(D + timedelta(days=10), 15, 30, 0)
    # the order's own source and a click at the order's very moment: the own source is first and last
    website_order(conn, "OWN", email="own@example.com", created=t, utm=("google", "cpc", "spring"))
    cio_click(conn, "d-own", email="own@example.com", clicked=t, newsletter=1)
    # no own source, an earlier click and two clicks at one later instant: the first is the earlier
    # click, the last the later instant's greatest campaign (ties ranked by platform, campaign, flow)
    website_order(conn, "TIE", email="tie@example.com", created=t)
    cio_click(conn, "d-tie-0", email="tie@example.com", clicked=t - timedelta(days=3), newsletter=3)
    cio_click(conn, "d-tie-a", email="tie@example.com", clicked=t - timedelta(hours=1), newsletter=1)
    cio_click(conn, "d-tie-b", email="tie@example.com", clicked=t - timedelta(hours=1), newsletter=2)
    conn.execute(
        "INSERT INTO raw.customerio_campaigns (kind, object_id, name, payload) VALUES"
        " ('newsletter', 1, 'March news', '{}'), ('newsletter', 2, 'April news', '{}'),"
        " ('newsletter', 3, 'Welcome', '{}')"
    )
    build(conn, D, D + timedelta(days=10))
    got = _attribution(
        conn,
        "first_touch_at, first_touch_channel, first_touch_campaign, last_touch_at, last_touch_channel,"
        " last_touch_campaign",
    )
    assert got["website:OWN"] == (t, "paid_search", "spring", t, "paid_search", "spring")
    later = t - timedelta(hours=1)
    assert got["website:TIE"] == (t - timedelta(days=3), "email", "Welcome", later, "email", "March news")


def test_cancelled_and_refunded_orders(conn):
    tiktok_order(
        conn,
        "T-CANCEL",
        user="u1",
        email="a@example.com",
        phone=None,
        created=at(D),
        total="40.00",
        status="CANCELLED",
    )
    tiktok_order(
        conn,
        "T-PART",
        user="u1",
        email="a@example.com",
        phone=None,
        created=at(D, 13),
        total="50.00",
        cancelled_lines=("20.00",),
    )
    website_order(
        conn,
        "W-REFUND",
        email="a@example.com",
        created=at(D, 14),
        total="30.00",
        payload={"refunded_amount": "30.00"},
    )
    website_order(conn, "W-OK", email="a@example.com", created=at(D, 15), total="25.00")
    build(conn, D, D)
    orders = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT order_key, is_cancelled, is_refunded, gross_revenue, refunded_amount, net_revenue,"
            " customer_order_number FROM core.orders"
        )
    }
    assert orders["tiktok_shop:T-CANCEL"] == (True, False, 40, 0, 0, None)
    assert orders["tiktok_shop:T-PART"] == (False, False, 50, 20, 30, 1)
    assert orders["website:W-REFUND"] == (False, True, 30, 30, 0, None)
    assert orders["website:W-OK"] == (False, False, 25, 0, 25, 2)
    daily = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT channel, orders, revenue, gross_revenue, refunds, cancelled_orders, new_customers,"
            " returning_customers FROM marts.channel_daily WHERE day = %s",
            (D,),
        )
    }
    assert daily["tiktok_shop"] == (1, 30, 50, 20, 1, 1, 0)
    # the fully refunded order is no order (its refund still shows), as everywhere else
    assert daily["website"] == (1, 25, 55, 30, 0, 0, 1)
    counted = {"tiktok_shop:T-PART", "website:W-OK"}
    assert {k for (k,) in conn.execute("SELECT order_key FROM marts.attribution")} == counted
    funnel = dict(
        conn.execute(
            "SELECT channel, value FROM marts.funnel_daily WHERE day = %s AND stage = 'orders'", (D,)
        )
    )
    assert funnel == {"tiktok": 1, "website": 1}
    lines = conn.execute(
        "SELECT count(*) FILTER (WHERE is_refunded), count(*) FROM core.order_lines"
        " WHERE order_key = 'tiktok_shop:T-PART'"
    ).fetchone()
    assert lines == (1, 2)


def test_vip_one_month_at_risk_then_lapsed_and_new_people(conn):
    jan = date(2025, 1, 1)
    for k in range(3):
        website_order(
            conn, f"V{k}", email="vip@example.com", created=at(jan + timedelta(days=5 + k)), total="100.00"
        )
    website_order(conn, "N1", email="new@example.com", created=at(date(2025, 1, 20)), total="20.00")
    conn.execute(
        "INSERT INTO raw.klaviyo_profiles (profile_id, email, created_at, updated_at, email_consent,"
        " email_consent_at, payload, partition_date) VALUES ('p1', 'Sub@Example.com', %s, %s,"
        " 'SUBSCRIBED', %s, '{}', %s)",
        (at(date(2025, 1, 25)),) * 3 + (date(2025, 1, 25),),
    )
    build(conn, jan, date(2025, 1, 31))
    vip, new, sub = (
        conn.execute("SELECT customer_id FROM core.customers WHERE email = %s", (e,)).fetchone()[0]
        for e in ("vip@example.com", "new@example.com", "sub@example.com")
    )

    def segment(day: date) -> dict:
        with conn.transaction():
            build_segments(conn, day, day)
        return {
            c: (s, lc)
            for c, s, lc in conn.execute(
                "SELECT customer_id, segment, lifecycle FROM marts.customer_segments WHERE as_of = %s", (day,)
            )
        }

    jan31, may15, aug31 = segment(date(2025, 1, 31)), segment(date(2025, 5, 15)), segment(date(2025, 8, 31))
    assert jan31 == {
        vip: ("vip", "active"),
        new: ("new_customer", "active"),
        sub: ("new_subscriber", "prospect"),
    }
    # last VIP order Jan 8: May 15 is 127 days later (at risk, > 90), Aug 31 is 235 days (lapsed, > 180)
    assert may15[vip] == ("at_risk", "at_risk")
    assert may15[new] == ("at_risk", "at_risk")  # Jan 20 + 115 days
    assert may15[sub] == ("subscriber", "prospect")
    assert aug31[vip] == ("lapsed", "lapsed")
    # the snapshots are kept side by side: movement is a join of two days
    moved = conn.execute(
        "SELECT a.segment, b.segment FROM marts.customer_segments a JOIN marts.customer_segments b"
        " USING (customer_id) WHERE a.as_of = '2025-01-31' AND b.as_of = '2025-08-31'"
        " AND customer_id = %s",
        (vip,),
    ).fetchone()
    assert moved == ("vip", "lapsed")


def test_missing_source_days_are_marked_not_zero(conn):
    tiktok_order(conn, "T1", user="u1", email="a@example.com", phone=None, created=at(D))
    tiktok_order(conn, "T3", user="u1", email="a@example.com", phone=None, created=at(D + timedelta(days=2)))
    website_order(conn, "W1", email="b@example.com", created=at(D))
    build(conn, D, D + timedelta(days=2))
    cov = {
        (s, d): st
        for s, d, st in conn.execute(
            "SELECT source, day, status FROM marts.source_coverage WHERE source IN ('tiktok_shop', 'ga4')"
        )
    }
    assert cov[("tiktok_shop", D)] == "loaded"
    assert cov[("tiktok_shop", D + timedelta(days=1))] == "missing"
    has_ga4 = conn.execute("SELECT to_regclass('raw.ga4_traffic_daily') IS NOT NULL").fetchone()[0]
    if not has_ga4:
        assert cov[("ga4", D)] == "source_absent"
    funnel = {
        (d, ch, st): v
        for d, ch, st, v in conn.execute(
            "SELECT day, channel, stage, value FROM marts.funnel_daily WHERE stage IN ('orders', 'sessions')"
        )
    }
    assert funnel[(D, "tiktok", "orders")] == 1
    assert funnel[(D + timedelta(days=1), "tiktok", "orders")] is None  # not loaded: unknown, not 0
    assert funnel[(D + timedelta(days=1), "website", "orders")] is None
    assert funnel[(D, "website", "orders")] == 1
    if not has_ga4:
        assert funnel[(D, "website", "sessions")] is None
    assert customer_of(conn, "tiktok_shop:T1") == customer_of(conn, "tiktok_shop:T3")


def test_one_row_per_source_order_is_kept_by_the_key_and_counted_without_it(conn):
    website_order(conn, "W-1", email="a@example.com", created=at(D))
    build(conn, D, D)
    assert orders_keys_and_lines(conn) == (
        True,
        {
            "duplicate_orders": 0,
            "orphan_lines": 0,
            "orders_without_customer": 0,
            "audited": "the whole table",
        },
    )
    copy = (
        "INSERT INTO core.orders (order_key, channel, source_order_id, customer_id, ordered_at, order_date,"
        " status, is_cancelled, is_refunded, currency, gross_revenue, refunded_amount, net_revenue)"
        " SELECT 'other:' || order_key, channel, source_order_id, customer_id, ordered_at, order_date, status,"
        " is_cancelled, is_refunded, currency, gross_revenue, refunded_amount, net_revenue FROM core.orders"
    )
    # the key is the channel and the source's id (migration 242): a second row of the order is refused
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(copy)
    # without that constraint the gate counts the orders stored twice
    conn.execute("ALTER TABLE core.orders DROP CONSTRAINT orders_key_is_channel_and_id")
    conn.execute(copy)
    passed, metadata = orders_keys_and_lines(conn)
    assert not passed and metadata["duplicate_orders"] == 1


def test_an_audit_in_a_refresh_reads_what_the_refresh_wrote(conn):
    website_order(conn, "W-1", email="a@example.com", created=at(D))
    website_order(conn, "W-2", email="b@example.com", created=at(D + timedelta(days=1)))
    build(conn, D, D + timedelta(days=1))
    # rows no builder wrote: a revenue that differs from the source's, an email on two customers
    conn.execute("UPDATE core.orders SET gross_revenue = gross_revenue + 1 WHERE source_order_id = 'W-2'")
    # the unique index on email (migration 254) refuses the second, and the audit reads the index
    assert customers_keys_unique(conn) == (
        True,
        {"emails_on_several_customers": 0, "audited": "the unique index on email"},
    )
    with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
        conn.execute("UPDATE core.customers SET email = 'a@example.com' WHERE email = 'b@example.com'")
    # without it (a warehouse whose rows broke the rule before the migration) the audit counts
    conn.execute("DROP INDEX core.customers_email_key")
    conn.execute("UPDATE core.customers SET email = 'a@example.com' WHERE email = 'b@example.com'")
    assert orders_revenue_reconciles(conn)[1]["mismatched_days"] == 1  # alone: the whole table
    assert customers_keys_unique(conn)[1]["emails_on_several_customers"] == 1
    with conn.transaction():  # as in a refresh of the first day, its scope tables filled
        conn.execute("SELECT set_config('marts.incremental', 'on', true)")
        for table, columns in (("scope_days", "key text, day date"), ("scope_changed", "day date")):
            conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns}); TRUNCATE {table}")
        conn.execute("CREATE TEMP TABLE customers_todo (customer_id text) ON COMMIT DROP")
        conn.execute("INSERT INTO scope_days VALUES ('website', %s)", (D,))
        assert orders_revenue_reconciles(conn) == (
            True,
            {"mismatched_days": 0, "examples": None, "audited": "what this refresh wrote"},
        )
        assert customers_keys_unique(conn)[0]
        # the day and the customer it wrote are read, and what is wrong there is found
        conn.execute("INSERT INTO scope_changed VALUES (%s)", (D + timedelta(days=1),))
        conn.execute("INSERT INTO customers_todo SELECT customer_id FROM core.customers LIMIT 1")
        passed, metadata = orders_revenue_reconciles(conn)
        assert not passed and metadata["mismatched_days"] == 1
        assert customers_keys_unique(conn) == (
            False,
            {"emails_on_several_customers": 1, "audited": "what this refresh wrote"},
        )
