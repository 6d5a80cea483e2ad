"""The daily refresh keeps what did not change (closed RFM months) and ends with exactly the tables
a full rebuild from scratch gives, table by table. Segment snapshots are daily partitions: the
refresh writes the new day's, which must equal a full rebuild's; past days stay as they were
written until their partitions are materialized again."""

from datetime import date, timedelta

from marketing_pipeline_tests.marts_fixtures import at, build, cio_click, tiktok_order, website_order

FIRST = date(2025, 3, 1)
LAST = date(2025, 6, 20)
SKIP_COLUMNS = {("core", "customer_keys", "added_at")}  # when the key was written, not what it says


def _seed(conn) -> None:
    day = FIRST
    k = 0
    while day <= LAST:
        for c in range(1 + k % 3):
            person = (k * 7 + c) % 11
            website_order(
                conn,
                f"W{k}-{c}",
                email=f"p{person}@example.com",
                created=at(day, 9 + c),
                total=f"{20 + (k * 13 + c) % 90}.00",
                utm=("klaviyo", "email", "spring") if person % 3 == 0 else (None, None, None),
            )
        if k % 4 == 0:
            tiktok_order(
                conn, f"T{k}", user=f"u{k % 5}", email=None, phone=f"+1415555{k % 5:04d}", created=at(day, 14)
            )
        if k % 5 == 0:
            cio_click(conn, f"d{k}", email=f"p{k % 11}@example.com", clicked=at(day, 8))
        day += timedelta(days=3)
        k += 1


def _tables(conn, segment_days: tuple[date, date]) -> dict[str, list[tuple]]:
    names = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema IN ('core', 'marts') AND table_type = 'BASE TABLE'"
        " AND table_name NOT IN ('rfm_snapshots', 'changed_days', 'refresh_state') ORDER BY 1, 2"
    ).fetchall()
    out = {}
    for schema, table in names:
        cols = [
            c
            for (c,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
                " ORDER BY ordinal_position",
                (schema, table),
            )
            if (schema, table, c) not in SKIP_COLUMNS
        ]
        select = ", ".join(f'"{c}"' for c in cols)
        where = "WHERE as_of BETWEEN %s AND %s" if table == "customer_segments" else ""
        out[f"{schema}.{table}"] = sorted(
            conn.execute(
                f'SELECT {select} FROM "{schema}"."{table}" {where}',  # noqa: S608 (catalog names)
                segment_days if where else None,
            ).fetchall(),
            key=repr,
        )
    return out


def test_daily_refresh_equals_full_rebuild_and_keeps_closed_months(conn):
    _seed(conn)
    build(conn, FIRST, LAST, segments_from=FIRST)
    kept = dict(conn.execute("SELECT as_of, inputs FROM marts.rfm_snapshots"))
    assert len(kept) == 13 and max(kept) == LAST  # twelve month ends and the running month

    # The next day: new orders and a click, a cancellation in the lookback window, and a late order
    # in a closed month (April), which must change April's snapshot and every later one.
    new_day = LAST + timedelta(days=1)
    website_order(conn, "NEW1", email="p1@example.com", created=at(new_day, 10), total="75.00")
    website_order(conn, "NEW2", email="newcomer@example.com", created=at(new_day, 11))
    cio_click(conn, "dnew", email="p2@example.com", clicked=at(new_day, 9))
    conn.execute(
        'UPDATE raw.website_orders SET payload = \'{"status": "cancelled"}\''
        " WHERE order_id = (SELECT order_id FROM raw.website_orders WHERE partition_date = %s LIMIT 1)",
        (LAST,),
    )
    website_order(conn, "LATE", email="p4@example.com", created=at(date(2025, 4, 10), 12), total="500.00")
    build(conn, FIRST, new_day, segments_from=new_day)

    after = dict(conn.execute("SELECT as_of, inputs FROM marts.rfm_snapshots"))
    assert after[date(2025, 3, 31)] == kept[date(2025, 3, 31)]  # closed before the late order: kept
    assert after[date(2025, 4, 30)] != kept[date(2025, 4, 30)]
    assert max(after) == new_day
    incremental = _tables(conn, (new_day, new_day))

    # From scratch: no identities, no fingerprints, no snapshots; every segment day written again.
    conn.execute("TRUNCATE core.customer_keys, marts.rfm, marts.rfm_snapshots, marts.customer_segments")
    build(conn, FIRST, new_day, segments_from=FIRST, full=True)
    full = _tables(conn, (new_day, new_day))

    assert incremental.keys() == full.keys()
    for name in full:
        assert incremental[name] == full[name], name
    assert full["marts.rfm"] and full["core.email_events"] and full["marts.attribution"]
