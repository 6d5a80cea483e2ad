"""The dashboard's numbers: one SQL query per panel over the marts, for a date range and the
period of the same length before it. Each brand's figures come from its own warehouse (the
connection given), in its currency and with its days cut in its time zone by the marts."""

from datetime import date, datetime, timedelta, tzinfo

import psycopg
from psycopg.rows import dict_row

from marketing_pipeline import clock, settings
from marketing_pipeline.marts import figures
from marketing_pipeline.settings.brands import Brand


def _rows(conn: psycopg.Connection, sql: str, params: dict) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return [{k: _plain(v) for k, v in r.items()} for r in cur.execute(sql, params)]


def _plain(v):
    if isinstance(v, date):
        return v.isoformat()
    if v is None or isinstance(v, (int, float, str, bool)):
        return v
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return float(v)


DEFAULT_RANGE_DAYS = 14  # the demo loads every source for this window, so both show the same range


def default_range(
    conn: psycopg.Connection, days: int = DEFAULT_RANGE_DAYS, today: date | None = None
) -> tuple[date, date]:
    """The last ``days`` complete days with sales, not reaching back before the first loaded day.
    ``today`` is the brand's local day (default: the default brand's, by ``clock``)."""
    today = today or clock.today(settings.load().tz)
    last, first_loaded = conn.execute(
        "SELECT (SELECT max(day) FROM marts.channel_daily WHERE day < %(today)s),"
        " (SELECT min(day) FROM marts.source_coverage WHERE status = 'loaded')",
        {"today": today},
    ).fetchone()
    last = last or today - timedelta(days=1)
    start = last - timedelta(days=days - 1)
    if first_loaded and first_loaded > start:
        start = min(first_loaded, last)
    return start, last


KPI_SQL = """
WITH p(name, s, e) AS (VALUES ('current', %(start)s::date, %(end)s::date), ('previous', %(pstart)s::date, %(pend)s::date))
SELECT p.name,
  (SELECT coalesce(sum(revenue), 0) FROM marts.channel_daily WHERE day BETWEEN p.s AND p.e) AS revenue,
  (SELECT coalesce(sum(orders), 0) FROM marts.channel_daily WHERE day BETWEEN p.s AND p.e) AS orders,
  (SELECT coalesce(sum(new_customers), 0) FROM marts.channel_daily WHERE day BETWEEN p.s AND p.e) AS new_customers,
  (SELECT coalesce(sum(returning_customers), 0) FROM marts.channel_daily WHERE day BETWEEN p.s AND p.e) AS returning_customers,
  (SELECT coalesce(sum(refunds), 0) FROM marts.channel_daily WHERE day BETWEEN p.s AND p.e) AS refunds,
  (SELECT CASE WHEN bool_and(value IS NOT NULL) THEN sum(value) END FROM marts.funnel_daily WHERE stage = 'sessions' AND day BETWEEN p.s AND p.e) AS sessions,
  (SELECT CASE WHEN bool_and(value IS NOT NULL) THEN sum(value) END FROM marts.funnel_daily WHERE stage = 'video views' AND day BETWEEN p.s AND p.e) AS video_views,
  (SELECT CASE WHEN bool_and(value IS NOT NULL) THEN sum(value) END FROM marts.funnel_daily WHERE stage = 'engagements' AND day BETWEEN p.s AND p.e) AS engagements,
  (SELECT CASE WHEN bool_and(value IS NOT NULL) THEN sum(value) END FROM marts.funnel_daily WHERE stage = 'shop clicks' AND day BETWEEN p.s AND p.e) AS shop_clicks,
  (SELECT CASE WHEN bool_and(value IS NOT NULL) THEN sum(value) END FROM marts.funnel_daily WHERE stage = 'add to cart' AND day BETWEEN p.s AND p.e) AS add_to_carts,
  (SELECT CASE WHEN bool_and(value IS NOT NULL) THEN sum(value) END FROM marts.funnel_daily WHERE stage = 'checkout started' AND day BETWEEN p.s AND p.e) AS checkouts,
  (SELECT sum(sent) FROM marts.email_daily WHERE day BETWEEN p.s AND p.e) AS email_sent,
  (SELECT sum(delivered) FROM marts.email_daily WHERE day BETWEEN p.s AND p.e) AS email_delivered,
  (SELECT sum(opens) FROM marts.email_daily WHERE day BETWEEN p.s AND p.e) AS email_opens,
  (SELECT sum(clicks) FROM marts.email_daily WHERE day BETWEEN p.s AND p.e) AS email_clicks,
  (SELECT sum(unsubscribes) FROM marts.email_daily WHERE day BETWEEN p.s AND p.e) AS email_unsubscribes,
  (SELECT sum(bounces) FROM marts.email_daily WHERE day BETWEEN p.s AND p.e) AS email_bounces,
  (SELECT sum(recipients) FROM marts.email_daily WHERE day BETWEEN p.s AND p.e) AS email_recipients,
  (SELECT sum(conversions) FROM marts.email_daily WHERE day BETWEEN p.s AND p.e) AS email_conversions,
  (SELECT sum(revenue) FROM marts.email_daily WHERE day BETWEEN p.s AND p.e) AS email_revenue
FROM p
"""

CHANNEL_SQL = """
SELECT day, channel, revenue, orders FROM marts.channel_daily
WHERE day BETWEEN %(start)s AND %(end)s ORDER BY day, channel
"""

SEGMENTS_SQL = """
WITH d AS (SELECT max(as_of) AS day FROM marts.customer_segment_days WHERE as_of <= %(end)s),
     b AS (SELECT max(as_of) AS day FROM marts.customer_segment_days WHERE as_of <= %(start)s)
SELECT s.segment, count(*) FILTER (WHERE s.as_of = d.day) AS customers,
       count(*) FILTER (WHERE s.as_of = b.day) AS before, d.day AS as_of, b.day AS before_as_of
FROM marts.customer_segments s, d, b
WHERE s.as_of IN (d.day, b.day)
GROUP BY s.segment, d.day, b.day ORDER BY customers DESC
"""

RFM_MOVES_SQL = """
WITH snaps AS (SELECT DISTINCT as_of FROM marts.rfm WHERE as_of <= %(end)s ORDER BY as_of DESC LIMIT 2),
     a AS (SELECT min(as_of) AS d FROM snaps), b AS (SELECT max(as_of) AS d FROM snaps)
SELECT coalesce(x.segment, 'Not yet a customer') AS source, y.segment AS target, count(*) AS customers,
       (SELECT d FROM a) AS from_as_of, (SELECT d FROM b) AS to_as_of
FROM marts.rfm y
LEFT JOIN marts.rfm x ON x.customer_id = y.customer_id AND x.as_of = (SELECT d FROM a) AND (SELECT d FROM a) < (SELECT d FROM b)
WHERE y.as_of = (SELECT d FROM b)
GROUP BY 1, 2 ORDER BY 3 DESC
"""

RFM_SNAPSHOTS_SQL = """
SELECT count(DISTINCT as_of) AS snapshots, max(as_of) AS latest FROM marts.rfm WHERE as_of <= %(end)s
"""

COHORTS_SQL = """
SELECT cohort_month, months_since, retention, cohort_size, cumulative_revenue_per_customer
FROM marts.cohorts
WHERE cohort_month > date_trunc('month', %(end)s::date) - interval '12 months' AND cohort_month <= %(end)s
ORDER BY cohort_month, months_since
"""

UTM_CAMPAIGNS_SQL = """
SELECT last_touch_channel AS channel, coalesce(last_touch_campaign, '(none)') AS campaign,
       count(*) AS orders, sum(net_revenue) AS revenue
FROM marts.attribution WHERE order_date BETWEEN %(start)s AND %(end)s
GROUP BY 1, 2 ORDER BY revenue DESC LIMIT 10
"""

FRESHNESS_SQL = """
SELECT f.source, f.last_loaded_day, f.source_absent,
       (SELECT count(*) FROM marts.source_coverage c
         WHERE c.source = f.source AND c.status <> 'loaded' AND c.day BETWEEN %(start)s AND %(end)s) AS missing_in_range,
       (SELECT array_agg(c.day ORDER BY c.day) FROM marts.source_coverage c
         WHERE c.source = f.source AND c.status = 'missing' AND c.day BETWEEN %(start)s AND %(end)s) AS missing_days
FROM marts.source_freshness f ORDER BY f.source
"""

# The latest prediction snapshot at or before the range's end: its fit, churn-risk bands, the
# distribution of predicted 12-month CLV (20 equal-width bins up to the 99th percentile, the last
# one open-ended) and the holdout comparison.
PREDICTION_FIT_SQL = """
SELECT as_of, fit_ok, problems, customers, repeat_buyers, annual_discount_rate, calibration_end,
       holdout_weeks, holdout_mae
FROM marts.customer_prediction_fits WHERE as_of <= %(end)s ORDER BY as_of DESC LIMIT 1
"""

PREDICTION_BANDS_SQL = """
SELECT churn_risk, count(*) AS customers, sum(predicted_clv_12m) AS predicted_clv
FROM marts.customer_predictions WHERE as_of = %(as_of)s GROUP BY 1
ORDER BY array_position(ARRAY['low', 'medium', 'high'], churn_risk)
"""

PREDICTION_CLV_SQL = """
WITH p AS (SELECT predicted_clv_12m AS clv FROM marts.customer_predictions
           WHERE as_of = %(as_of)s AND predicted_clv_12m IS NOT NULL),
     top AS (SELECT greatest(percentile_cont(0.99) WITHIN GROUP (ORDER BY clv), 1) AS hi FROM p)
SELECT least(width_bucket(clv, 0, hi, 20), 21) AS bin, hi / 20 AS width, count(*) AS customers
FROM p, top GROUP BY 1, 2 ORDER BY 1
"""

PREDICTION_HOLDOUT_SQL = """
SELECT calibration_repeat_purchases, customers, actual_mean, predicted_mean
FROM marts.customer_prediction_holdout WHERE as_of = %(as_of)s ORDER BY 1
"""


def predictions(conn: psycopg.Connection, end: date) -> dict | None:
    fits = _rows(conn, PREDICTION_FIT_SQL, {"end": end})
    if not fits:
        return None
    params = {"as_of": fits[0]["as_of"]}
    return {
        "fit": fits[0],
        "bands": _rows(conn, PREDICTION_BANDS_SQL, params),
        "clv": _rows(conn, PREDICTION_CLV_SQL, params),
        "holdout": _rows(conn, PREDICTION_HOLDOUT_SQL, params),
    }


# The sources refreshed within the day: when their recent partitions were last written (the
# partition index keeps this to the last days' rows). Website orders arrive as they are pushed.
AS_OF_SQL = """
SELECT 'TikTok Shop orders' AS source, (SELECT max(_loaded_at) FROM raw.tiktok_shop_orders WHERE partition_date >= %(recent)s)
UNION ALL SELECT 'Klaviyo events', (SELECT max(_loaded_at) FROM raw.klaviyo_events WHERE partition_date >= %(recent)s)
UNION ALL SELECT 'Website orders', (SELECT max(_loaded_at) FROM raw.website_orders WHERE partition_date >= %(recent)s)
UNION ALL SELECT 'Customer.io deliveries', (SELECT max(_loaded_at) FROM raw.customerio_deliveries WHERE partition_date >= %(recent)s)
"""


def data_as_of(conn: psycopg.Connection, now: datetime | None = None, tz: tzinfo | None = None) -> list[dict]:
    """Per fast source, the brand-local time of its latest load in the last three days (None: none).
    ``tz``: the brand's time zone (default: the default brand's)."""
    tz = tz or settings.load().tz
    today = (now or clock.now()).astimezone(tz).date()
    out = []
    for source, at in conn.execute(AS_OF_SQL, {"recent": today - timedelta(days=2)}):
        local = at.astimezone(tz) if at else None
        out.append(
            {
                "source": source,
                "at": local.isoformat(timespec="seconds") if local else None,
                "time": local.strftime("%H:%M") if local else None,
                "day": local.date().isoformat() if local and local.date() != today else None,
            }
        )
    return out


def brand_info(brand: Brand) -> dict:
    """What the page shows of a brand: its name, the currency of its money, the zone of its days."""
    return {
        "id": brand.id,
        "name": brand.name or brand.id,
        "currency": brand.currency,
        "timezone": brand.timezone,
        "is_default": brand.is_default,
    }


def dashboard(conn: psycopg.Connection, start: date, end: date, brand: Brand | None = None) -> dict:
    tz = brand.tz if brand is not None else None
    length = (end - start).days + 1
    params = {
        "start": start,
        "end": end,
        "pend": start - timedelta(days=1),
        "pstart": start - timedelta(days=length),
    }
    kpis = {r.pop("name"): r for r in _rows(conn, KPI_SQL, params)}
    audience_day = figures.segments_day(conn, end)
    carts = figures.cart_recovery(conn, start, end)
    freshness = _rows(conn, FRESHNESS_SQL, params)
    for f in freshness:
        f["missing_days"] = (f["missing_days"] or [])[:31]
    return {
        "range": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "previous_start": params["pstart"].isoformat(),
            "previous_end": params["pend"].isoformat(),
        },
        "kpis": kpis,
        "channels": _rows(conn, CHANNEL_SQL, params),
        "funnel": [{k: _plain(v) for k, v in r.items()} for r in figures.funnel(conn, start, end)],
        "segments": _rows(conn, SEGMENTS_SQL, params),
        "rfm_moves": _rows(conn, RFM_MOVES_SQL, params),
        "rfm_snapshots": _rows(conn, RFM_SNAPSHOTS_SQL, params)[0],
        "cohorts": _rows(conn, COHORTS_SQL, params),
        "email_campaigns": [
            {k: _plain(v) for k, v in r.items()} for r in figures.email_top(conn, start, end)
        ],
        "audiences": {"as_of": _plain(audience_day), "people": figures.audiences(conn, audience_day)},
        "campaigns": _rows(conn, UTM_CAMPAIGNS_SQL, params),
        "cart_recovery": None if carts is None else [{k: _plain(v) for k, v in r.items()} for r in carts],
        "freshness": freshness,
        "data_as_of": data_as_of(conn, tz=tz),
        "predictions": predictions(conn, end),
    }
