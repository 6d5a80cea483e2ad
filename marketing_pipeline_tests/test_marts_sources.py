"""Klaviyo's copy of an order de-duplicated, Klaviyo email events, GA4 sessions and TikTok content
reaching the funnel."""

import json
from datetime import date

from marketing_pipeline_tests.marts_fixtures import at, build, website_order

D = date(2025, 4, 2)


def klaviyo_order(conn, event_id: str, order_id: str, source: str | None, value: str, placed) -> None:
    conn.execute(
        "INSERT INTO raw.klaviyo_orders (event_id, order_id, profile_id, placed_at, value, currency, discount_value,"
        " shipping, tax, source, categories, brands, item_count, payload, partition_date)"
        " VALUES (%s, %s, 'p1', %s, %s, 'USD', 0, 0, 0, %s, '{}', '{}', 1, '{}', %s)",
        (event_id, order_id, placed, value, source, placed.date()),
    )
    conn.execute(
        "INSERT INTO raw.klaviyo_order_lines (event_id, order_id, line_number, product_id, quantity, item_price,"
        " row_total, discount, categories, payload, partition_date)"
        " VALUES (%s, %s, 1, 'p', 1, %s, %s, 0, '{}', '{}', %s)",
        (event_id, order_id, value, value, placed.date()),
    )


def test_klaviyo_orders_are_deduplicated_against_the_storefront(conn):
    conn.execute(
        "INSERT INTO raw.klaviyo_profiles (profile_id, email, updated_at, payload, partition_date)"
        " VALUES ('p1', 'kim@example.com', %s, '{}', %s)",
        (at(D), D),
    )
    website_order(conn, "1001", email="Kim@example.com", created=at(D), total="50.00")
    klaviyo_order(conn, "e1", "1001", "website", "50.00", at(D, 12, 0, 5))  # the same order
    klaviyo_order(conn, "e2", "2002", "website", "30.00", at(D, 13))  # only Klaviyo knows it
    klaviyo_order(conn, "e3", "2002", "website", "30.00", at(D, 13, 0, 30))  # ...sent twice
    build(conn, D, D)
    orders = conn.execute("SELECT order_key, net_revenue, customer_id FROM core.orders ORDER BY 1").fetchall()
    assert [(k, v) for k, v, _ in orders] == [("klaviyo:2002", 30), ("website:1001", 50)]
    assert len({c for *_, c in orders}) == 1  # the profile's email is the website buyer
    assert (
        conn.execute("SELECT count(*) FROM core.order_lines WHERE order_key = 'klaviyo:2002'").fetchone()[0]
        == 1
    )


def test_klaviyo_email_events_take_their_campaign(conn):
    conn.execute(
        "INSERT INTO raw.klaviyo_profiles (profile_id, email, updated_at, payload, partition_date)"
        " VALUES ('p1', 'kim@example.com', %s, '{}', %s)",
        (at(D), D),
    )
    conn.execute(
        "INSERT INTO raw.klaviyo_campaigns (campaign_id, name, status, archived, channel, created_at,"
        " updated_at, message_ids, payload) VALUES ('c1', 'April sale', 'Sent', false, 'email', %s, %s,"
        " '{m1}', '{}')",
        (at(D), at(D)),
    )
    conn.execute(
        "INSERT INTO raw.klaviyo_campaign_messages (message_id, campaign_id, payload) VALUES ('m1', 'c1', '{}')"
    )
    for eid, metric, hour in [
        ("k1", "Received Email", 8),
        ("k2", "Opened Email", 9),
        ("k3", "Clicked Email", 10),
        ("k4", "Active on Site", 10),
    ]:
        conn.execute(
            "INSERT INTO raw.klaviyo_events (event_id, metric_id, metric_name, profile_id, occurred_at,"
            " message_id, payload, partition_date) VALUES (%s, 'm', %s, 'p1', %s, 'm1', '{}', %s)",
            (eid, metric, at(D, hour), D),
        )
    website_order(conn, "1001", email="kim@example.com", created=at(D, 11))
    build(conn, D, D)
    events = conn.execute(
        "SELECT event_type, campaign_name FROM core.email_events ORDER BY occurred_at, event_type"
    ).fetchall()
    assert events == [
        ("delivered", "April sale"),
        ("sent", "April sale"),
        ("open", "April sale"),
        ("click", "April sale"),
    ]
    daily = conn.execute(
        "SELECT sent, delivered, opens, clicks, recipients, conversions, revenue FROM marts.email_daily"
        " WHERE platform = 'klaviyo'"
    ).fetchone()
    assert daily == (1, 1, 1, 1, 1, 1, 50)


def test_ga4_sessions_and_tiktok_content_fill_the_funnel(conn):
    for source, medium, sessions, carts in [("google", "cpc", 120, 12), ("(direct)", "(none)", 80, 4)]:
        conn.execute(
            "INSERT INTO raw.ga4_traffic_daily (property_id, report_date, session_source, session_medium,"
            " session_campaign_name, sessions, add_to_carts, checkouts, is_other, payload, partition_date)"
            " VALUES ('1', %s, %s, %s, '(not set)', %s, %s, 1, false, %s, %s)",
            (D, source, medium, sessions, carts, json.dumps({}), D),
        )
    conn.execute(
        "INSERT INTO raw.tiktok_content_daily (video_id, content_date, views, likes, comments, shares,"
        " product_clicks, payload, partition_date) VALUES ('v1', %s, 5000, 300, 20, 10, 75, '{}', %s)",
        (D, D),
    )
    website_order(conn, "1001", email="kim@example.com", created=at(D))
    build(conn, D, D)
    funnel = {
        (c, s): v
        for c, s, v in conn.execute(
            "SELECT channel, stage, value FROM marts.funnel_daily WHERE day = %s", (D,)
        )
    }
    assert funnel[("website", "sessions")] == 200
    assert funnel[("tiktok", "video views")] == 5000
    assert funnel[("tiktok", "engagements")] == 330
    assert funnel[("tiktok", "shop clicks")] == 75
    assert funnel[("website", "orders")] == 1
