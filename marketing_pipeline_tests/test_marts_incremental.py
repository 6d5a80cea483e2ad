"""The daily refresh keeps what did not change (closed RFM months) and ends with exactly the tables
a full rebuild from scratch gives, table by table. Segment snapshots are daily partitions: the
refresh writes the new day's, which must equal a full rebuild's; past days stay as they were
written until their partitions are materialized again."""

from datetime import date, timedelta
from decimal import Decimal

import psycopg

from marketing_pipeline.marts import scope, sqlfiles
from marketing_pipeline.marts.assets import build_segments
from marketing_pipeline.marts.rebuild import ORDER, rebuild
from marketing_pipeline.settings import marts as config
from marketing_pipeline_tests.marts_fixtures import (
    FIRST,
    LAST,
    at,
    build,
    cart_row,
    cio_click,
    content_day,
    customer_of,
    ga4_traffic,
    logged_statement,
    model_tables,
    seed_history,
    website_order,
)


def _snapshots(conn) -> dict[date, tuple[str, str]]:
    """Each stored RFM snapshot's inputs and the transaction that wrote it (a kept one keeps its row)."""
    return {
        d: (i, x) for d, i, x in conn.execute("SELECT as_of, inputs, xmin::text FROM marts.rfm_snapshots")
    }


def test_daily_refresh_equals_full_rebuild_and_keeps_closed_months(conn):
    seed_history(conn)
    build(conn, FIRST, LAST, segments_from=FIRST)
    kept = _snapshots(conn)
    assert len(kept) == 13 and max(kept) == LAST  # twelve month ends and the running month

    # The next day: new orders and a click, a cancellation in the lookback window, and a late order
    # in a closed month (April), which must change April's snapshot and every later one.
    new_day = LAST + timedelta(days=1)
    website_order(conn, "NEW1", email="p1@example.com", created=at(new_day, 10), total="75.00")
    website_order(conn, "NEW2", email="newcomer@example.com", created=at(new_day, 11))
    cio_click(conn, "dnew", email="p2@example.com", clicked=at(new_day, 9))
    logged_statement(
        conn,
        "raw.website_orders",
        'UPDATE raw.website_orders SET payload = \'{"status": "cancelled"}\''
        " WHERE order_id = (SELECT order_id FROM raw.website_orders WHERE partition_date = %s LIMIT 1)",
        (LAST,),
    )
    website_order(conn, "LATE", email="p4@example.com", created=at(date(2025, 4, 10), 12), total="500.00")
    build(conn, FIRST, new_day, segments_from=new_day)

    after = _snapshots(conn)
    assert after[date(2025, 3, 31)] == kept[date(2025, 3, 31)]  # closed before the late order: kept
    assert after[date(2025, 4, 30)] != kept[date(2025, 4, 30)]
    assert max(after) == new_day
    incremental = model_tables(conn, (new_day, new_day))

    # From scratch: no identities, no fingerprints, no snapshots; every segment day written again.
    conn.execute(
        "TRUNCATE core.customer_keys, marts.rfm_scores, marts.rfm_snapshots, marts.customer_segment_spans,"
        " marts.customer_segment_days, marts.customer_segment_touched, marts.customer_segment_state"
    )
    build(conn, FIRST, new_day, segments_from=FIRST, full=True)
    full = model_tables(conn, (new_day, new_day))

    assert incremental.keys() == full.keys()
    for name in full:
        assert incremental[name] == full[name], name
    assert full["marts.rfm"] and full["core.email_events"] and full["marts.attribution"]


def test_a_late_order_in_the_month_before_redoes_two_snapshots_by_comparison(conn):
    """The first days of a month: an order of the month before arrives late. Its snapshot and the
    running month are redone from the customers' months (their running totals), compared with the
    stored rows, and only the rows that differ written; every other snapshot is kept."""
    seed_history(conn)
    build(conn, FIRST, LAST, segments_from=LAST)
    kept = _snapshots(conn)
    stored = dict(
        conn.execute("SELECT customer_id, frequency FROM marts.rfm_scores WHERE month = '2025-05-01'")
    )
    key = "SELECT 'marts.rfm_scores_pkey'::regclass::oid"  # a bulk load builds the key again: a new index
    key_before = conn.execute(key).fetchone()[0]

    new_day = LAST + timedelta(days=1)
    website_order(conn, "LATE", email="p4@example.com", created=at(date(2025, 5, 30), 12), total="500.00")
    build(conn, FIRST, new_day, segments_from=new_day)

    after = _snapshots(conn)
    # no order on the new day: the running month is still dated the last order day
    assert {d for d in after if after[d] != kept.get(d)} == {date(2025, 5, 31), LAST}
    p4 = customer_of(conn, "website:LATE")
    assert (
        conn.execute(
            "SELECT frequency FROM marts.rfm_scores WHERE month = '2025-05-01' AND customer_id = %s", (p4,)
        ).fetchone()[0]
        == stored[p4] + 1
    )
    assert conn.execute(key).fetchone()[0] == key_before  # compared and written row by row
    incremental = model_tables(conn, (new_day, new_day))

    conn.execute("TRUNCATE marts.rfm_scores, marts.rfm_snapshots")
    build(conn, FIRST, new_day, segments_from=new_day, full=True)
    full = model_tables(conn, (new_day, new_day))
    for name in ("marts.rfm", "core.customer_months", "core.customer_totals", "marts.cohorts"):
        assert incremental[name] == full[name], name


def test_a_refresh_rescores_the_touched_and_those_a_moved_boundary_reaches(conn):
    """A day's refresh redoes the running month from its stored quintile boundaries: the customers
    whose orders changed are rescored, and so is every customer whose value a moved boundary passed
    (here new customers at the top move them), though their own orders did not change. The month
    then equals a full rebuild's, and the customers core_orders handed over are taken out."""
    seed_history(conn)
    build(conn, FIRST, LAST, segments_from=LAST)
    month = LAST.replace(day=1)
    assert conn.execute(
        "SELECT last_day_cuts IS NOT NULL AND segment_map IS NOT NULL FROM marts.rfm_snapshots WHERE month = %s",
        (month,),
    ).fetchone()[0]
    scores = "SELECT customer_id, r, f, m FROM marts.rfm_scores WHERE month = %s"
    before = {c: (r, f, m) for c, r, f, m in conn.execute(scores, (month,))}

    new_day = LAST + timedelta(days=1)
    for i in range(4):
        website_order(conn, f"TOP{i}", email=f"top{i}@example.com", created=at(new_day, 10), total="900.00")
    website_order(conn, "AGAIN", email="p1@example.com", created=at(new_day, 11), total="30.00")
    build(conn, FIRST, new_day, segments_from=new_day)

    assert conn.execute("SELECT count(*) FROM core.changed_customers").fetchone()[0] == 0
    touched = {customer_of(conn, f"website:{key}") for key in ("TOP0", "TOP1", "TOP2", "TOP3", "AGAIN")}
    after = {c: (r, f, m) for c, r, f, m in conn.execute(scores, (month,))}
    assert touched <= set(after)
    moved = {c for c in before if c not in touched and after[c] != before[c]}
    assert moved, "the new customers move a boundary past customers whose orders did not change"
    incremental = model_tables(conn, (new_day, new_day))

    conn.execute("TRUNCATE marts.rfm_scores, marts.rfm_snapshots")
    build(conn, FIRST, new_day, segments_from=new_day, full=True)
    full = model_tables(conn, (new_day, new_day))
    assert incremental["marts.rfm"] == full["marts.rfm"]


def _klaviyo(conn, event_id: str, metric: str, profile: str, when) -> None:
    conn.execute(
        "INSERT INTO raw.klaviyo_events (event_id, metric_id, metric_name, profile_id, occurred_at,"
        " message_id, payload, partition_date) VALUES (%s, 'm', %s, %s, %s, 'm1', '{}', %s)",
        (event_id, metric, profile, when, when.date()),
    )


def _profile(conn, profile: str, email: str, day: date) -> None:
    conn.execute(
        "INSERT INTO raw.klaviyo_profiles (profile_id, email, updated_at, payload, partition_date)"
        " VALUES (%s, %s, %s, '{}', %s) ON CONFLICT (profile_id) DO UPDATE"
        " SET email = excluded.email, updated_at = excluded.updated_at, partition_date = excluded.partition_date",
        (profile, email, at(day), day),
    )


def test_refresh_rewrites_only_changed_days_and_equals_a_full_rebuild(conn):
    """Every builder with a change plan refreshes incrementally after a day of changes, and every
    table equals a full rebuild of the same raw rows. The full rebuild keeps the identity map (ids
    are given in the order keys are first seen), which is what a rebuild does in production."""
    seed_history(conn)
    _profile(conn, "kp1", "p3@example.com", date(2025, 5, 2))
    _klaviyo(conn, "ke1", "Clicked Email", "kp1", at(date(2025, 5, 2), 8))
    _klaviyo_order(conn, "ko1", "K1", at(date(2025, 5, 2), 9), "40.00")  # its email changes with the profile
    build(conn, FIRST, LAST, segments_from=LAST)
    phone_customer = customer_of(conn, "tiktok_shop:T0")  # TikTok buyer known by phone only

    new_day = LAST + timedelta(days=1)
    # A new day: orders, a Customer.io click, Klaviyo events (one on a profile that changes email).
    website_order(conn, "NEW1", email="p1@example.com", created=at(new_day, 10), total="75.00")
    cio_click(conn, "dnew", email="p2@example.com", clicked=at(new_day, 9))
    _klaviyo(conn, "ke2", "Opened Email", "kp1", at(new_day, 7))
    _profile(conn, "kp1", "p5@example.com", new_day)  # every event of the profile changes customer
    # A new identity link: a website order giving an email and the phone of the TikTok buyer, whose
    # customer has no email yet: the email joins that customer.
    website_order(
        conn, "LINK", email="linked@example.com", created=at(new_day, 12), payload={"phone": "+14155550000"}
    )
    # Late changes: a cancellation, an order in a closed month, a click removed from an old day,
    # a delivery stored again under the new day (the later copy wins).
    logged_statement(
        conn,
        "raw.website_orders",
        'UPDATE raw.website_orders SET payload = \'{"status": "cancelled"}\''
        " WHERE order_id = (SELECT min(order_id) FROM raw.website_orders WHERE partition_date = %s)",
        (LAST,),
    )
    website_order(conn, "LATE", email="p4@example.com", created=at(date(2025, 4, 10), 12), total="500.00")
    conn.execute("DELETE FROM raw.customerio_deliveries WHERE delivery_id = 'd5'")
    conn.execute(
        "INSERT INTO raw.customerio_deliveries SELECT (jsonb_populate_record(d, jsonb_build_object("
        "'partition_date', %s::text))).* FROM raw.customerio_deliveries d WHERE delivery_id = 'd10'",
        (new_day.isoformat(),),
    )
    # GA4, TikTok content and carts: a new day, a restated old day, a removed day, a checkout
    # started in an old cart (carts have no change log).
    ga4_traffic(conn, new_day, "google", 55)
    conn.execute(
        "UPDATE raw.ga4_traffic_daily SET sessions = sessions + 7 WHERE partition_date = %s", (FIRST,)
    )
    content_day(conn, "v9", new_day, 900)
    conn.execute(
        "DELETE FROM raw.tiktok_content_daily WHERE partition_date = (SELECT max(partition_date)"
        " FROM raw.tiktok_content_daily WHERE partition_date < %s)",
        (LAST,),
    )
    cart_row(conn, "cnew", "website", at(new_day, 9), checkout=False)
    conn.execute(
        "UPDATE ops.carts SET checkout_started_at = created_at + interval '1 hour' WHERE cart_id = 'c1'"
    )
    # Names: the order that gave p3's latest name moves to p7, so p3's name is the one before it.
    named = conn.execute(
        "SELECT order_id FROM raw.website_orders WHERE email = 'p3@example.com' AND payload ? 'first_name'"
        " ORDER BY created_at DESC LIMIT 1"
    ).fetchone()[0]
    p3_name = conn.execute(
        "SELECT first_name FROM core.customer_names WHERE customer_id = %s",
        (customer_of(conn, f"website:{named}"),),
    ).fetchone()[0]
    logged_statement(
        conn,
        "raw.website_orders",
        "UPDATE raw.website_orders SET email = 'p7@example.com' WHERE order_id = %s",
        (named,),
    )
    p3 = customer_of(conn, f"website:{named}")
    with conn.transaction():
        modes = rebuild(conn, FIRST, new_day, segments_from=new_day)
    assert set(modes.values()) == {"incremental"}, modes
    assert set(modes) == set(scope.PLANS)
    assert conn.execute(
        "SELECT first_name FROM core.customer_names WHERE customer_id = %s", (p3,)
    ).fetchone()[0] not in (p3_name, None)
    assert conn.execute(
        "SELECT value FROM marts.funnel_daily WHERE day = %s AND channel = 'website' AND stage = 'sessions'",
        (new_day,),
    ).fetchone() == (55,)
    assert customer_of(conn, "website:LINK") == phone_customer
    assert conn.execute(
        "SELECT email FROM core.customers WHERE customer_id = %s", (phone_customer,)
    ).fetchone() == ("linked@example.com",)
    incremental = model_tables(conn, (new_day, new_day))

    with conn.transaction():
        modes = rebuild(conn, FIRST, new_day, segments_from=new_day, full=True)
    assert set(modes.values()) == {"full"}
    full = model_tables(conn, (new_day, new_day))
    assert incremental.keys() == full.keys()
    for name in full:
        assert incremental[name] == full[name], name
    assert full["core.cohort_activity"] and full["core.identity_records"]
    assert full["core.sessions"] and full["core.content_daily"] and full["core.order_names"]


def _klaviyo_order(conn, event_id: str, order_id: str, when, value: str, source: str | None = None) -> None:
    conn.execute(
        "INSERT INTO raw.klaviyo_orders (event_id, order_id, profile_id, placed_at, value, currency, discount_value,"
        " shipping, tax, source, categories, brands, item_count, payload, partition_date)"
        " VALUES (%s, %s, 'kp1', %s, %s, 'USD', 0, 0, 0, %s, '{}', '{}', 1, '{}', %s)",
        (event_id, order_id, when, value, source, when.date()),
    )
    conn.execute(
        "INSERT INTO raw.klaviyo_order_lines (event_id, order_id, line_number, product_id, quantity, item_price,"
        " row_total, discount, categories, payload, partition_date)"
        " VALUES (%s, %s, 1, 'p', 1, %s, %s, 0, '{}', '{}', %s)",
        (event_id, order_id, value, value, when.date()),
    )


def test_orders_only_klaviyo_knows_are_restaged_by_changed_day(conn):
    """Klaviyo's copies of orders: re-sent, new, and one whose storefront order disappears (it becomes
    an order only Klaviyo knows), with no profile changing: the refresh stages only those ids."""
    seed_history(conn)
    _profile(conn, "kp1", "p3@example.com", date(2025, 4, 2))
    _klaviyo_order(conn, "ko1", "K1", at(date(2025, 4, 2), 9), "40.00")
    _klaviyo_order(conn, "ko2", "W4-0", at(date(2025, 3, 13), 9), "33.00", source="website")  # a storefront's
    _klaviyo_order(conn, "ko3", "W6-0", at(date(2025, 3, 19), 9), "35.00", source="website")
    build(conn, FIRST, LAST, segments_from=LAST)
    assert conn.execute("SELECT count(*) FROM core.orders WHERE channel = 'klaviyo'").fetchone() == (1,)

    new_day = LAST + timedelta(days=1)
    _klaviyo_order(conn, "ko4", "K2", at(new_day, 9), "60.00")
    _klaviyo_order(conn, "ko5", "K1", at(new_day, 10), "45.00")  # re-sent: the latest event counts
    logged_statement(
        conn, "raw.website_order_lines", "DELETE FROM raw.website_order_lines WHERE order_id = 'W6-0'"
    )
    logged_statement(conn, "raw.website_orders", "DELETE FROM raw.website_orders WHERE order_id = 'W6-0'")
    with conn.transaction():
        modes = rebuild(conn, FIRST, new_day, segments_from=new_day)
    assert modes["core_orders"] == "incremental"
    assert conn.execute(
        "SELECT source_order_id, gross_revenue, order_date FROM core.orders WHERE channel = 'klaviyo'"
        " ORDER BY 1"
    ).fetchall() == [("K1", 45, new_day), ("K2", 60, new_day), ("W6-0", 35, date(2025, 3, 19))]
    incremental = model_tables(conn, (new_day, new_day))

    with conn.transaction():
        rebuild(conn, FIRST, new_day, segments_from=new_day, full=True)
    full = model_tables(conn, (new_day, new_day))
    for name in full:
        assert incremental[name] == full[name], name


def test_a_refresh_with_nothing_new_changes_nothing_and_a_truncated_source_rebuilds(conn):
    seed_history(conn)
    build(conn, FIRST, LAST, segments_from=LAST)
    before = model_tables(conn, (LAST, LAST))
    with conn.transaction():
        modes = rebuild(conn, FIRST, LAST, segments_from=LAST)
    assert set(modes.values()) == {"incremental"}
    assert model_tables(conn, (LAST, LAST)) == before
    assert conn.execute("SELECT count(*) FROM marts.changed_days").fetchone()[0] == 0  # every builder saw it

    conn.execute("TRUNCATE raw.customerio_deliveries")
    with conn.transaction():
        modes = rebuild(conn, FIRST, LAST, segments_from=LAST)
    assert modes["core_customers"] == "full"  # a whole table changed
    assert modes["core_orders"] == modes["core_email_events"] == "incremental"  # all of Customer.io's events
    assert conn.execute("SELECT count(*) FROM core.email_events").fetchone()[0] == 0


def _each_in_its_own_transaction(conn) -> dict[str, str]:
    """As Dagster runs them: one transaction per builder."""
    modes = {}
    for name in ORDER:
        with conn.transaction():
            sqlfiles.apply_settings(conn, config.gucs())
            modes[name] = sqlfiles.build(conn, name).get("mode", "")
    return modes


def test_builders_in_their_own_transactions_see_each_change_once(conn):
    seed_history(conn)
    assert set(_each_in_its_own_transaction(conn).values()) == {"full", ""}
    new_day = LAST + timedelta(days=1)
    website_order(conn, "NEW1", email="p1@example.com", created=at(new_day, 10), total="75.00")
    cio_click(conn, "dnew", email="p1@example.com", clicked=at(new_day, 9))
    modes = _each_in_its_own_transaction(conn)
    assert {m for m in modes.values() if m} == {"incremental"}
    assert conn.execute(
        "SELECT first_touch_channel FROM marts.attribution WHERE order_key = 'website:NEW1'"
    ).fetchone() == ("email",)
    refreshed = model_tables(conn, (new_day, new_day))
    _each_in_its_own_transaction(conn)  # nothing new: the same tables, and a log every builder saw
    assert model_tables(conn, (new_day, new_day)) == refreshed
    assert conn.execute("SELECT count(*) FROM marts.changed_days").fetchone()[0] == 0

    scope.forget(conn)
    assert set(_each_in_its_own_transaction(conn).values()) == {"full", ""}
    assert model_tables(conn, (new_day, new_day)) == refreshed


def _indexes(conn) -> list[tuple]:
    """The keys and indexes of the tables (a partition's are its parent's)."""
    return conn.execute(
        "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes i"
        " JOIN pg_class t ON t.oid = format('%I.%I', i.schemaname, i.tablename)::regclass"
        " WHERE schemaname IN ('core', 'marts') AND NOT t.relispartition ORDER BY 1, 2, 3"
    ).fetchall()


def _rfm_months(conn) -> set[date]:
    """The months marts.rfm_scores has a partition for."""
    return {m for (m,) in conn.execute("SELECT month FROM marts.rfm_partitions()")}


def _rfm_months_without_key(conn) -> tuple[int, int]:
    """RFM's monthly partitions, and those without the parent's key."""
    return conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM pg_index x"
        " WHERE x.indrelid = p.part AND x.indisprimary AND x.indisvalid)) FROM marts.rfm_partitions() p"
    ).fetchone()


def test_a_full_rebuild_puts_back_every_key_and_index_the_migrations_made(conn):
    migrated = _indexes(conn)
    seed_history(conn)
    assert set(_each_in_its_own_transaction(conn).values()) == {"full", ""}  # builder by builder
    assert _indexes(conn) == migrated
    months = conn.execute("SELECT count(*) FROM marts.rfm_snapshots").fetchone()[0]
    assert _rfm_months_without_key(conn) == (months, 0)
    with conn.transaction():  # every builder in one transaction
        rebuild(conn, FIRST, LAST, segments_from=LAST, full=True)
    assert _indexes(conn) == migrated
    assert _rfm_months_without_key(conn) == (months, 0)


def _segments(conn, day: date) -> list[tuple]:
    return conn.execute(
        "SELECT * FROM marts.customer_segments WHERE as_of = %s ORDER BY customer_id", (day,)
    ).fetchall()


def _segment_of(conn, email: str, day: date) -> tuple:
    return conn.execute(
        "SELECT s.segment, s.lifecycle, s.is_vip, s.revenue_365d FROM marts.customer_segments s"
        " JOIN core.customers c USING (customer_id) WHERE c.email = %s AND s.as_of = %s",
        (email, day),
    ).fetchone()


def test_one_day_segments_from_customer_totals_equal_every_order_read_again(conn):
    """A day's snapshot alone reads core.customer_totals and the year's orders; several days at once
    read every order up to each day. Both agree on the day an order leaves the 365-day window (a VIP
    no longer one), the day a customer passes from active to at risk, and on a past day with orders
    after it."""
    seed_history(conn)
    new_day = LAST + timedelta(days=1)
    edge = new_day - timedelta(days=365)  # in the window up to the day before new_day, out on new_day
    website_order(conn, "OLD", email="vip@example.com", created=at(edge, 10), total="200.00")
    for k in (1, 2):
        website_order(
            conn, f"RECENT{k}", email="vip@example.com", created=at(LAST - timedelta(days=k)), total="40.00"
        )
    # Last order 90 days before the day before new_day: active then, at risk on new_day.
    website_order(conn, "LAPSING", email="lapsing@example.com", created=at(LAST - timedelta(days=90), 9))
    website_order(conn, "NEW1", email="p1@example.com", created=at(new_day, 10), total="75.00")
    build(conn, FIRST, new_day, segments_from=new_day)
    past = date(2025, 5, 1)  # most customers order again after it
    days = (past, LAST, new_day)
    one_by_one = {}
    for day in days:
        with conn.transaction():
            build_segments(conn, day, day)
        one_by_one[day] = _segments(conn, day)
    with conn.transaction():
        build_segments(conn, past, new_day)  # several days: every order up to each day
    for day in days:
        assert one_by_one[day] == _segments(conn, day), day
        assert one_by_one[day]
    assert _segment_of(conn, "vip@example.com", LAST)[:3] == ("vip", "active", True)
    assert _segment_of(conn, "vip@example.com", new_day) == ("repeat", "active", False, Decimal("80.00"))
    assert _segment_of(conn, "lapsing@example.com", LAST)[1] == "active"
    assert _segment_of(conn, "lapsing@example.com", new_day)[:2] == ("at_risk", "at_risk")


def _rfm_written(conn) -> tuple[int, int]:
    """Rows of marts.rfm_scores written by the current transaction, and all rows."""
    return conn.execute(
        "SELECT count(*) FILTER (WHERE xmin::text = (pg_current_xact_id()::xid)::text), count(*) FROM marts.rfm_scores"
    ).fetchone()


def _rfm_counts(conn) -> list[tuple]:
    """The stored customers per value of each measure, snapshot by snapshot (marts.rfm_counts)."""
    return conn.execute(
        "SELECT month, kind, last_day, frequency, monetary, n FROM marts.rfm_counts ORDER BY 1, 2, 3, 4, 5"
    ).fetchall()


def test_rfm_writes_only_changed_rows_and_equals_a_rebuild_across_a_month_end(conn):
    """A new day in the running month rewrites only the rows whose values or scores changed; the
    next month's first day keeps the closed month as it was and adds the new month; each time
    marts.rfm (scores, dates and recency) equals a rebuild from scratch, and so do the counts per
    value the running month's boundaries were adjusted from (a customer who left included)."""
    seed_history(conn)
    build(conn, FIRST, LAST, segments_from=LAST)
    steps = [LAST + timedelta(days=1), date(2025, 6, 30), date(2025, 7, 1)]
    for n, day in enumerate(steps):
        website_order(conn, f"STEP{n}", email=f"p{n + 2}@example.com", created=at(day, 10), total="60.00")
        if n == 0:  # a one-order customer, whose order is cancelled the next day: gone from RFM
            website_order(conn, "ONCE", email="once@example.com", created=at(day, 11), total="90.00")
        if n == 1:
            logged_statement(
                conn,
                "raw.website_orders",
                "UPDATE raw.website_orders SET payload = '{\"status\": \"cancelled\"}' WHERE order_id = 'ONCE'",
            )
        before = _snapshots(conn)
        with conn.transaction():
            modes = rebuild(conn, FIRST, day, segments_from=day)
            written, total = _rfm_written(conn)
            # June's days redo the running month from its stored counts; July's is new, counted whole
            banded = conn.execute("SELECT count(*) FROM rfm_banded").fetchone()[0]
        assert modes["core_orders"] == "incremental"
        assert banded == (1 if day.month == 6 else 0)
        after = _snapshots(conn)
        running = conn.execute(
            "SELECT count(*) FROM marts.rfm_scores WHERE month = %s", (day.replace(day=1),)
        )
        if day.month == 6:  # the running month moved: only its changed rows are written
            assert 0 < written < running.fetchone()[0] < total
        else:  # July begins: June (as of June 30) is kept, a new month's rows are all new
            assert after[date(2025, 6, 30)] == before[date(2025, 6, 30)]
            assert written == running.fetchone()[0]
            assert date(2024, 6, 30) not in after and min(after) == date(2024, 7, 31)
            # one keyed partition per snapshot: July's added, June 2024's dropped
            assert _rfm_months(conn) == {d.replace(day=1) for d in after}
            assert _rfm_months_without_key(conn) == (13, 0)
        once = conn.execute(
            "SELECT count(*) FROM marts.rfm r JOIN core.customers c USING (customer_id)"
            " WHERE c.email = 'once@example.com' AND r.as_of = %s",
            (day,),
        ).fetchone()[0]
        assert once == (1 if n == 0 else 0)
        refreshed = conn.execute("SELECT * FROM marts.rfm ORDER BY as_of, customer_id").fetchall()
        counts = _rfm_counts(conn)
        scored = {m for (m,) in conn.execute("SELECT DISTINCT month FROM marts.rfm_scores")}
        assert {c[0] for c in counts} == scored  # every snapshot with customers, and no other
        with conn.transaction(force_rollback=True):  # the refreshed state stays for the next step
            scope.forget(conn)
            sqlfiles.apply_settings(conn, config.gucs())
            sqlfiles.build(conn, "rfm")
            assert conn.execute("SELECT * FROM marts.rfm ORDER BY as_of, customer_id").fetchall() == refreshed
            assert _rfm_counts(conn) == counts


def test_a_month_a_reader_holds_is_left_for_the_next_run(conn, warehouse_url):
    """On a month's first day the month leaving the window is dropped. A reader holding marts.rfm (an
    open transaction) neither blocks the refresh nor sees its read fail: the month is left, already
    out of the view, and the next run drops it."""
    seed_history(conn)
    build(conn, FIRST, LAST, segments_from=LAST)  # June 2024 to June 2025
    july, leaving = date(2025, 7, 1), date(2024, 6, 1)
    website_order(conn, "JULY", email="p3@example.com", created=at(july, 10), total="60.00")
    with psycopg.connect(warehouse_url) as reader:
        assert reader.execute("SELECT count(*) FROM marts.rfm").fetchone()[0] > 0
        build(conn, FIRST, july, segments_from=july)
        assert {leaving, july} <= _rfm_months(conn)
        assert min(_snapshots(conn)) == date(2024, 7, 31)  # the month left is out of marts.rfm
        reader.execute("SELECT count(*) FROM marts.rfm")  # still reads
    build(conn, FIRST, july, segments_from=july)
    assert leaving not in _rfm_months(conn)
    assert _rfm_months_without_key(conn) == (13, 0)


def test_a_late_order_months_back_rewrites_those_months_whole_and_keeps_the_others(conn, monkeypatch):
    """More than half the snapshots to redo (a late order in the second of four months): their
    months are written again whole and the key over every month built once after; the month before
    the late order keeps its very rows, keyed again, and marts.rfm equals a rebuild."""
    monkeypatch.setenv("MARTS_RFM_MONTHS", "4")
    seed_history(conn)
    build(conn, FIRST, LAST, segments_from=LAST)
    march = "SELECT customer_id, frequency, xmin::text FROM marts.rfm_scores WHERE month = '2025-03-01' ORDER BY 1"
    kept = conn.execute(march).fetchall()
    assert kept and _rfm_months_without_key(conn) == (4, 0)

    new_day = LAST + timedelta(days=1)
    website_order(conn, "LATE", email="p4@example.com", created=at(date(2025, 4, 10), 12), total="500.00")
    with conn.transaction():
        rebuild(conn, FIRST, new_day, segments_from=new_day)
        bulk = conn.execute("SELECT current_setting('marts.rfm_bulk')").fetchone()[0]
        assert bulk == "true"  # April, May and June of four months
    assert conn.execute(march).fetchall() == kept
    assert _rfm_months_without_key(conn) == (4, 0)
    refreshed = conn.execute("SELECT * FROM marts.rfm ORDER BY as_of, customer_id").fetchall()
    with conn.transaction(force_rollback=True):
        scope.forget(conn)
        sqlfiles.apply_settings(conn, config.gucs())
        sqlfiles.build(conn, "rfm")
        assert conn.execute("SELECT * FROM marts.rfm ORDER BY as_of, customer_id").fetchall() == refreshed


def _view(conn, first: date, last: date) -> list[tuple]:
    return conn.execute(
        "SELECT * FROM marts.customer_segments WHERE as_of BETWEEN %s AND %s ORDER BY as_of, customer_id",
        (first, last),
    ).fetchall()


def _spans(conn) -> list[tuple]:
    return conn.execute(  # valid_to as text: 'infinity' has no Python date
        "SELECT customer_id, valid_from, valid_to::text, (to_jsonb(s) - 'valid_to')::text"
        " FROM marts.customer_segment_spans s ORDER BY 1, 2"
    ).fetchall()


def test_day_by_day_segments_write_only_what_moved_and_equal_a_rebuild(conn):
    """Day after day, the refresh computes only the customers whose row can move and stores only the
    rows that did; every day then reads, through marts.customer_segments, what a rebuild from scratch
    gives: on the day an order leaves the 365 days (a VIP no longer one), the day a customer passes
    from active to at risk, the day a first order leaves the new-customer window, after a
    cancellation a week back and a newcomer. Writing a past day again keeps every day's rows and
    joins the spans it cut."""
    seed_history(conn)
    days = [LAST + timedelta(days=n) for n in range(1, 6)]
    website_order(
        conn, "OLD", email="vip@example.com", created=at(days[2] - timedelta(days=365), 10), total="200.00"
    )
    for k in (1, 2):
        website_order(
            conn, f"RECENT{k}", email="vip@example.com", created=at(LAST - timedelta(days=k)), total="40.00"
        )
    website_order(conn, "LAPSING", email="lapsing@example.com", created=at(days[3] - timedelta(days=91), 9))
    website_order(conn, "FRESH", email="fresh@example.com", created=at(days[1] - timedelta(days=30), 9))
    build(conn, FIRST, LAST, segments_from=LAST)
    people = conn.execute(
        "SELECT count(*) FROM marts.customer_segments WHERE as_of = %s", (LAST,)
    ).fetchone()[0]

    modes, written = [], []
    for n, day in enumerate(days):
        website_order(conn, f"DAY{n}", email=f"p{n + 3}@example.com", created=at(day, 10), total="70.00")
        if n == 1:  # a cancellation a week back
            logged_statement(
                conn,
                "raw.website_orders",
                'UPDATE raw.website_orders SET payload = \'{"status": "cancelled"}\''
                " WHERE order_id = (SELECT order_id FROM raw.website_orders WHERE partition_date = %s LIMIT 1)",
                (LAST - timedelta(days=6),),
            )
        if n == 3:
            website_order(conn, "NEWCOMER", email="newcomer@example.com", created=at(day, 12))
        with conn.transaction():
            rebuild(conn, FIRST, day, segments_from=day)
            modes.append(conn.execute("SELECT current_setting('marts.segments_mode')").fetchone()[0])
            written.append(
                conn.execute(
                    "SELECT count(*) FROM marts.customer_segment_spans"
                    " WHERE xmin::text = (pg_current_xact_id()::xid)::text"
                ).fetchone()[0]
            )
    assert modes == ["changes"] * len(days)
    assert all(0 < w < people / 2 for w in written), (written, people)

    assert _segment_of(conn, "vip@example.com", days[1])[:3] == ("vip", "active", True)
    assert _segment_of(conn, "vip@example.com", days[2]) == ("repeat", "active", False, Decimal("80.00"))
    assert _segment_of(conn, "lapsing@example.com", days[2])[1] == "active"
    assert _segment_of(conn, "lapsing@example.com", days[3])[:2] == ("at_risk", "at_risk")
    assert _segment_of(conn, "fresh@example.com", days[0])[0] == "new_customer"
    assert _segment_of(conn, "fresh@example.com", days[1])[0] == "one_time_buyer"
    assert _segment_of(conn, "newcomer@example.com", days[3])[0] == "new_customer"
    refreshed, spans = _view(conn, LAST, days[-1]), _spans(conn)

    # A past day written again: the same rows, the spans cut at both its ends joined again.
    with conn.transaction():
        build_segments(conn, days[1], days[1])
        assert conn.execute("SELECT current_setting('marts.segments_mode')").fetchone()[0] == "days"
    assert _view(conn, LAST, days[-1]) == refreshed
    assert _spans(conn) == spans

    # From scratch, every order read again for each day since the cancellation (the days before it
    # keep the rows written then, as a snapshot does).
    since = _view(conn, days[1], days[-1])
    conn.execute(
        "TRUNCATE marts.customer_segment_spans, marts.customer_segment_days, marts.customer_segment_touched,"
        " marts.customer_segment_state"
    )
    with conn.transaction():
        build_segments(conn, days[1], days[-1])
    assert _view(conn, days[1], days[-1]) == since
    assert len({r[0] for r in since}) == len(days) - 1


def _written_spans(conn) -> int:
    return conn.execute(
        "SELECT count(*) FROM marts.customer_segment_spans WHERE xmin::text = (pg_current_xact_id()::xid)::text"
    ).fetchone()[0]


def test_the_latest_day_written_again_writes_only_the_rows_that_differ(conn, monkeypatch):
    """The latest day written again (after a full rebuild, a rerun) is compared with its spans: the
    same rows write nothing; under a new VIP threshold only the customers whose row moved are
    written, and the day reads what writing it from scratch gives; back under the old threshold, the
    spans are again exactly what they were (a row equal to the span ending on the day extends it)."""
    seed_history(conn)
    days = [LAST + timedelta(days=n) for n in range(1, 4)]
    website_order(
        conn, "OLD", email="vip@example.com", created=at(LAST - timedelta(days=20), 10), total="200.00"
    )
    for k in (1, 2):
        website_order(conn, f"RECENT{k}", email="vip@example.com", created=at(days[k], 10), total="40.00")
    build(conn, FIRST, LAST, segments_from=LAST)
    for day in days:
        with conn.transaction():
            rebuild(conn, FIRST, day, segments_from=day)
    latest = days[-1]
    spans, before, old = _spans(conn), _view(conn, LAST, days[-2]), _view(conn, latest, latest)
    assert _segment_of(conn, "vip@example.com", latest)[:3] == ("vip", "active", True)

    with conn.transaction():
        build_segments(conn, latest, latest)
        assert conn.execute("SELECT current_setting('marts.segments_mode')").fetchone()[0] == "again"
        assert _written_spans(conn) == 0
    assert _spans(conn) == spans

    monkeypatch.setenv("MARTS_VIP_MIN_ORDERS", "4")
    with conn.transaction(force_rollback=True):  # the day from scratch under the new threshold
        conn.execute(
            "TRUNCATE marts.customer_segment_spans, marts.customer_segment_days,"
            " marts.customer_segment_touched, marts.customer_segment_state"
        )
        build_segments(conn, latest, latest)
        scratch = _view(conn, latest, latest)
    with conn.transaction():
        build_segments(conn, latest, latest)
        assert conn.execute("SELECT current_setting('marts.segments_mode')").fetchone()[0] == "again"
        written = _written_spans(conn)
    moved = [r for r in scratch if r not in old]
    assert _view(conn, latest, latest) == scratch
    assert _view(conn, LAST, days[-2]) == before
    assert _segment_of(conn, "vip@example.com", latest)[:3] == ("repeat", "active", False)
    assert 0 < len(moved) < len(scratch)
    assert 0 < written <= 2 * len(moved)  # each moved customer: its span ended, a new one begun
    assert (
        conn.execute(  # no span meets an equal one
            "SELECT count(*) FROM marts.customer_segment_spans a JOIN marts.customer_segment_spans b"
            " ON b.customer_id = a.customer_id AND b.valid_from = a.valid_to"
            " WHERE (to_jsonb(a) - 'valid_from' - 'valid_to') = (to_jsonb(b) - 'valid_from' - 'valid_to')"
        ).fetchone()[0]
        == 0
    )

    monkeypatch.delenv("MARTS_VIP_MIN_ORDERS")
    with conn.transaction():
        build_segments(conn, latest, latest)
    assert _spans(conn) == spans
