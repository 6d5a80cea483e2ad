"""One definition of each reported figure, read from the marts by every output: the dashboard
(``/dashboard/api/data``), the demo summary and the tests that compare them with the Klaviyo lists.

- Counted orders: one rule, ``core.orders.is_counted`` (neither cancelled nor fully refunded).
  Order counts, AOV, the funnel's orders, attribution, segments, RFM and cohorts count only these;
  ``marts.attribution`` holds no other order, so its readers never filter again.
- Orders and revenue: counted orders per channel (``marts.channel_daily``); revenue is net.
- Funnel: a stage is ``None`` (n/a) when its source missed any day of the range; conversion and
  drop-off exist only between two complete stages, and only where the later stage is a subset of
  the earlier (a later count above the earlier one means the sources differ: no ratio is shown).
- Audiences: ``marts.segment_members`` as of a day, suppressed people left out; exactly the
  membership the Klaviyo list sync sends (``activation.model.SEGMENT_EMAILS_SQL``).
- Cart recovery: per step over abandonment days of the range; the rate is recovered carts over
  the step's emails (step 0, the whole sequence: over abandoned carts), as documented.
- Email campaigns and flows: revenue under the last-touch model of ``marts.attribution`` (clicks
  within ``ATTRIBUTION_WINDOW_DAYS``) over counted orders, flows and campaigns together.
"""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg.rows import dict_row

FUNNEL_SQL = """
SELECT channel, stage_no, stage,
       CASE WHEN count(*) FILTER (WHERE value IS NULL) = 0 THEN sum(value) END AS value,
       sum(value) AS covered_value,
       count(*) FILTER (WHERE value IS NULL) AS days_missing
FROM marts.funnel_daily WHERE day BETWEEN %(start)s AND %(end)s
GROUP BY channel, stage_no, stage ORDER BY channel, stage_no
"""

ORDERS_SQL = """
SELECT channel, coalesce(sum(orders), 0) AS orders, coalesce(sum(revenue), 0) AS revenue,
       coalesce(sum(cancelled_orders), 0) AS cancelled_orders
FROM marts.channel_daily WHERE day BETWEEN %(start)s AND %(end)s GROUP BY channel ORDER BY channel
"""

AUDIENCES_SQL = """
SELECT m.segment, count(DISTINCT c.email) AS people
FROM marts.segment_members m
JOIN core.customers c USING (customer_id)
WHERE m.as_of = %(as_of)s AND c.email IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ops.suppressions s WHERE s.email = c.email)
GROUP BY m.segment ORDER BY m.segment
"""

EMAIL_TOP_SQL = """
SELECT a.last_touch_platform AS platform,
       CASE WHEN a.last_touch_flow IS NOT NULL THEN 'flow' ELSE 'campaign' END AS kind,
       coalesce(a.last_touch_flow, a.last_touch_campaign, '(none)') AS name,
       count(*) AS orders, sum(a.net_revenue) AS revenue
FROM marts.attribution a
WHERE a.order_date BETWEEN %(start)s AND %(end)s AND a.last_touch_channel = 'email'
GROUP BY 1, 2, 3 ORDER BY revenue DESC, name LIMIT %(limit)s
"""

CART_RECOVERY_SQL = """
SELECT step, sum(carts_abandoned) AS carts, sum(emails_sent) AS emails_sent, sum(carts_clicked) AS clicked,
       sum(recovered_carts) AS recovered, sum(recovered_revenue) AS revenue,
       round(sum(recovered_carts)::numeric
             / nullif(sum(CASE WHEN step = 0 THEN carts_abandoned ELSE emails_sent END), 0), 4) AS rate
FROM marts.cart_recovery_daily WHERE day BETWEEN %(start)s AND %(end)s GROUP BY step ORDER BY step
"""


def _rows(conn: psycopg.Connection, sql: str, params: dict) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(sql, params))


def funnel(conn: psycopg.Connection, start: date, end: date) -> list[dict]:
    """Stages per channel with ``value`` (None when incomplete), ``conversion`` and ``drop_off``."""
    rows = _rows(conn, FUNNEL_SQL, {"start": start, "end": end})
    previous: dict[str, dict] = {}
    for r in rows:
        before = previous.get(r["channel"])
        r["conversion"] = r["drop_off"] = None
        if before and before["value"] and r["value"] is not None and r["value"] <= before["value"]:
            r["conversion"] = round(r["value"] / before["value"], 4)
            r["drop_off"] = round(1 - r["conversion"], 4)
        previous[r["channel"]] = r
    return rows


def orders(conn: psycopg.Connection, start: date, end: date) -> list[dict]:
    return _rows(conn, ORDERS_SQL, {"start": start, "end": end})


def segments_day(conn: psycopg.Connection, on: date) -> date | None:
    """The latest segment snapshot at or before ``on``: the day audiences are counted on."""
    return conn.execute(
        "SELECT max(as_of) FROM marts.customer_segment_days WHERE as_of <= %s", (on,)
    ).fetchone()[0]


def audiences(conn: psycopg.Connection, as_of: date | None) -> dict[str, int]:
    """People per segment (suppressed left out) on ``as_of``: the size each synced list must have."""
    if as_of is None:
        return {}
    return {r["segment"]: r["people"] for r in _rows(conn, AUDIENCES_SQL, {"as_of": as_of})}


def email_top(conn: psycopg.Connection, start: date, end: date, limit: int = 10) -> list[dict]:
    return _rows(conn, EMAIL_TOP_SQL, {"start": start, "end": end, "limit": limit})


def cart_recovery(conn: psycopg.Connection, start: date, end: date) -> list[dict] | None:
    """Per step (0 = the whole sequence); None while ``marts.cart_recovery_daily`` does not exist."""
    if not conn.execute("SELECT to_regclass('marts.cart_recovery_daily') IS NOT NULL").fetchone()[0]:
        return None
    return _rows(conn, CART_RECOVERY_SQL, {"start": start, "end": end})
