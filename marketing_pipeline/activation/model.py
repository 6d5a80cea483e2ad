"""What activation reads: the model (``core`` and ``marts``), never raw tables.

- Orders: ``core.orders`` with the customer's email (``core.customers``) and name
  (``core.customer_names``). A cancelled order is not an order anywhere: no event, no count, no
  revenue. Counts and revenue follow ``marts.customer_segments``: orders neither cancelled nor
  fully refunded, net revenue.
- Segments: ``marts.segment_members`` on the latest snapshot day (at most today, brand time).
  Klaviyo lists and Customer.io attributes name these segments; membership is never redefined here.
- Suppressed people (``ops.suppressions``, any source) are in no segment that is synced.
"""

from __future__ import annotations

from datetime import date, datetime

import psycopg

from marketing_pipeline import settings

# One row per order that happened (not cancelled) of a customer with an email.
ORDERS_SQL = """
SELECT o.order_key, o.source_order_id AS order_id, o.channel, c.email, n.first_name, n.last_name,
       c.tiktok_user_id, o.gross_revenue AS value, o.net_revenue, o.currency, o.ordered_at AS created_at,
       o.customer_id, o.is_counted AS counted
FROM core.orders o
JOIN core.customers c USING (customer_id)
LEFT JOIN core.customer_names n USING (customer_id)
WHERE NOT o.is_cancelled AND c.email IS NOT NULL
"""

# TikTok lists one line per unit sold: lines are grouped back into quantities per product.
LINES_SQL = """
SELECT order_key, product_id, sku, product_name, sum(quantity)::int AS quantity,
       round(sum(line_revenue) / nullif(sum(quantity), 0), 2) AS unit_price
FROM core.order_lines
GROUP BY order_key, product_id, sku, product_name
"""

# Emails of one segment's members on a snapshot day, suppressed people left out.
SEGMENT_EMAILS_SQL = """
SELECT DISTINCT c.email
FROM marts.segment_members m
JOIN core.customers c USING (customer_id)
WHERE m.as_of = %(as_of)s AND m.segment = %(segment)s AND c.email IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ops.suppressions s WHERE s.email = c.email)
"""


def require_model(conn: psycopg.Connection) -> None:
    """Raise when the core tables activation reads were emptied by a crash (migration 243): never
    sync an empty model as if the brand had no customers."""
    conn.execute("SELECT marts.require_built('core_customers', 'core_orders', 'core_customer_names')")


def today() -> date:
    return datetime.now(settings.load().tz).date()


def segments_as_of(conn: psycopg.Connection, on: date | None = None) -> date | None:
    """The latest segment snapshot day at or before ``on`` (default: today, brand time)."""
    require_model(conn)
    return conn.execute(
        "SELECT max(as_of) FROM marts.customer_segment_days WHERE as_of <= %s", (on or today(),)
    ).fetchone()[0]


def known_segments(conn: psycopg.Connection) -> set[str]:
    """Names a configuration may use: every segment, flag and lifecycle stage of the marts."""
    fixed = {
        "customer", "new_subscriber", "new_customer", "repeat", "vip", "one_time_buyer",
        "lapsed", "at_risk", "subscriber", "prospect", "active",
        "likely_to_churn", "high_predicted_value",  # from customer_predictions, when its fit passed
    }  # fmt: skip
    seen = {r[0] for r in conn.execute("SELECT DISTINCT segment FROM marts.customer_segment_spans")}
    return fixed | seen


def segment_emails(conn: psycopg.Connection, segment: str, as_of: date | None) -> set[str]:
    if as_of is None:
        return set()
    return {r[0] for r in conn.execute(SEGMENT_EMAILS_SQL, {"as_of": as_of, "segment": segment})}
