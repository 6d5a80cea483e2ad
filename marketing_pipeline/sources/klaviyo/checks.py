"""After a backfill: do Klaviyo's own report totals match the events in the warehouse?

Klaviyo's values reports (stored by ``klaviyo_performance``) count recipients, opens, clicks,
bounces and unsubscribes per campaign and flow message. The same events are in
``raw.klaviyo_events``. For the days of the run (its partition or partition range), the check sums
each statistic both ways and fails when one differs by more than ``TOLERANCE`` (2 %, and at least
``MIN_ABSOLUTE`` events, so a handful of late events on a small day does not fail it):

- flows: the flow series is per event day, so flow events are counted on the same days;
- campaigns: the report covers campaigns sent in its timeframe and counts their events in that
  timeframe, so the events of those campaign messages are counted on the run's days.
Events and reports of the same days are compared, so load (or backfill) both for the range.

No API call is made: the daily reporting budget is left to the reports themselves.
"""

from datetime import date, datetime, timedelta

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.warehouse import WarehouseResource

TOLERANCE = 0.02
MIN_ABSOLUTE = 2
STATISTICS = {
    "recipients": "Received Email",
    "opens": "Opened Email",
    "clicks": "Clicked Email",
    "bounced": "Bounced Email",
    "unsubscribes": "Unsubscribed",
}

RECONCILE_SQL = """
WITH metrics(stat, metric) AS (SELECT * FROM unnest(%(stats)s::text[], %(metrics)s::text[])),
campaign_reported AS (
  SELECT m.stat, sum(CASE m.stat WHEN 'recipients' THEN p.recipients WHEN 'opens' THEN p.opens
           WHEN 'clicks' THEN p.clicks WHEN 'bounced' THEN p.bounced ELSE p.unsubscribes END) AS n
  FROM raw.klaviyo_campaign_performance p CROSS JOIN metrics m
  WHERE p.partition_date BETWEEN %(first)s AND %(last)s GROUP BY m.stat),
campaign_events AS (
  SELECT m.stat, count(e.event_id) AS n
  FROM metrics m
  LEFT JOIN raw.klaviyo_events e ON e.metric_name = m.metric AND e.flow_id IS NULL
   AND e.partition_date BETWEEN %(first)s AND %(last)s
   AND e.message_id IN (SELECT campaign_message_id FROM raw.klaviyo_campaign_performance
                        WHERE partition_date BETWEEN %(first)s AND %(last)s)
  GROUP BY m.stat),
flow_reported AS (
  SELECT m.stat, sum(CASE m.stat WHEN 'recipients' THEN p.recipients WHEN 'opens' THEN p.opens
           WHEN 'clicks' THEN p.clicks WHEN 'bounced' THEN p.bounced ELSE p.unsubscribes END) AS n
  FROM raw.klaviyo_flow_performance p CROSS JOIN metrics m
  WHERE p.partition_date BETWEEN %(first)s AND %(last)s GROUP BY m.stat),
flow_events AS (
  SELECT m.stat, count(e.event_id) AS n
  FROM metrics m
  LEFT JOIN raw.klaviyo_events e ON e.metric_name = m.metric AND e.flow_id IS NOT NULL
   AND e.partition_date BETWEEN %(first)s AND %(last)s
  GROUP BY m.stat)
SELECT 'campaign', m.stat, coalesce(r.n, 0), coalesce(e.n, 0)
FROM metrics m LEFT JOIN campaign_reported r USING (stat) LEFT JOIN campaign_events e USING (stat)
UNION ALL
SELECT 'flow', m.stat, coalesce(r.n, 0), coalesce(e.n, 0)
FROM metrics m LEFT JOIN flow_reported r USING (stat) LEFT JOIN flow_events e USING (stat)
"""


def run_days(tags: dict) -> tuple[Brand, date, date]:
    """The run's brand and partition range (brand × day keys), or the default brand's lookback
    window when it has none."""
    first = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    last = tags.get("dagster/asset_partition_range_end") or tags.get("dagster/partition")
    brands = brand_settings.load()
    if first and last:
        brand_id, _, first_day = first.partition("|")
        last_brand, _, last_day = last.partition("|")
        if brand_id != last_brand:
            raise ValueError(
                f"a run covers one brand's days; this one covers {brand_id!r} and {last_brand!r}"
            )
        return brands.get(brand_id), date.fromisoformat(first_day), date.fromisoformat(last_day)
    brand = brands.default
    today = datetime.now(brand.tz).date()
    lookback = settings.load().lookback_days
    return brand, today - timedelta(days=lookback), today - timedelta(days=1)


def reconcile(conn, first: date, last: date) -> list[dict]:
    rows = conn.execute(
        RECONCILE_SQL,
        {"stats": list(STATISTICS), "metrics": list(STATISTICS.values()), "first": first, "last": last},
    ).fetchall()
    out = []
    for kind, stat, reported, warehouse in rows:
        diff = int(warehouse) - int(reported)
        allowed = max(MIN_ABSOLUTE, TOLERANCE * int(reported))
        out.append(
            {
                "kind": kind,
                "statistic": stat,
                "reported": int(reported),
                "warehouse": int(warehouse),
                "diff": diff,
                "ok": abs(diff) <= allowed,
            }
        )
    return out


@dg.asset_check(
    asset="klaviyo_campaign_performance",
    additional_deps=["klaviyo_flow_performance", "klaviyo_events"],
    description="Klaviyo's campaign and flow report totals (recipients, opens, clicks, bounces, unsubscribes) "
    f"equal the warehouse's events for the run's days within {TOLERANCE:.0%} (at least {MIN_ABSOLUTE} events).",
)
def klaviyo_reports_match_events(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    brand, first, last = run_days(context.run.tags)
    with warehouse.for_brand(brand).connection() as conn:
        rows = reconcile(conn, first, last)
    bad = [r for r in rows if not r["ok"]]
    return dg.AssetCheckResult(
        passed=not bad,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{brand.id} {first}..{last}: "
            + (
                "all within tolerance"
                if not bad
                else "; ".join(
                    f"{r['kind']} {r['statistic']}: Klaviyo {r['reported']}, warehouse {r['warehouse']}"
                    for r in bad
                )
            )
        ),
        metadata={
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "tolerance": TOLERANCE,
            **{f"{r['kind']}_{r['statistic']}": f"{r['reported']} vs {r['warehouse']}" for r in rows},
        },
    )
