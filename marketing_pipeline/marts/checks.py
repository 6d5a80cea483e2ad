"""Asset checks. Blocking ones guard what activation and the dashboard read (a failure stops the
assets downstream of the checked one, and only those): those of the core tables are gates of the
model's step (``gates.py``), the segments' one is here; anomaly and freshness checks warn.

Each check runs in its asset's run and reads that run's brand's warehouse. Checks name their asset
by key: the assets are built when the definitions load (``assets.build``)."""

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.marts import sqlfiles
from marketing_pipeline.marts.assets import brand_warehouse
from marketing_pipeline.settings import marts as marts_config
from marketing_pipeline.warehouse import WarehouseResource

K = dg.AssetKey


def _result(passed: bool, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=passed, metadata={k: v for k, v in metadata.items() if v is not None})


def _anomaly(conn, sql: str, label: str) -> dg.AssetCheckResult:
    """The latest full day against the mean of the 28 before it: more than 3 standard deviations is odd."""
    row = conn.execute(f"""
        WITH d AS ({sql}), last AS (SELECT max(day) AS day FROM d WHERE day < current_date)
        SELECT l.day, (SELECT value FROM d WHERE d.day = l.day),
               avg(d.value), stddev_samp(d.value), count(d.value)
        FROM last l LEFT JOIN d ON d.day >= l.day - 28 AND d.day < l.day
        GROUP BY l.day""").fetchone()  # noqa: S608 (constant)
    if not row or row[0] is None or row[4] < 7:
        return _result(True, note="fewer than 7 trailing days: nothing to compare")
    day, value, mean, sd, n = row
    z = 0.0 if not sd else float((value - mean) / sd)
    return dg.AssetCheckResult(
        passed=abs(z) <= 3,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "day": str(day),
            label: float(value or 0),
            "trailing_mean": float(mean),
            "z_score": round(z, 2),
        },
    )


@dg.asset_check(
    asset=K("channel_daily"), description="Yesterday's revenue is within 3 sd of its trailing 28-day mean."
)
def revenue_anomaly(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    _, warehouse = brand_warehouse(context, warehouse)
    with warehouse.connection() as conn:
        return _anomaly(
            conn, "SELECT day, sum(revenue) AS value FROM marts.channel_daily GROUP BY 1", "revenue"
        )


@dg.asset_check(
    asset=K("core_sessions"), description="Yesterday's sessions are within 3 sd of the trailing mean."
)
def sessions_anomaly(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    _, warehouse = brand_warehouse(context, warehouse)
    with warehouse.connection() as conn:
        return _anomaly(
            conn,
            "SELECT session_date AS day, sum(sessions) AS value FROM core.sessions GROUP BY 1",
            "sessions",
        )


@dg.asset_check(
    asset=K("source_coverage"),
    description="Every present source loaded each of the last LOOKBACK_DAYS days (warns otherwise).",
)
def sources_fresh(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    brand, warehouse = brand_warehouse(context, warehouse)
    lookback = settings.load().lookback_days
    with marts_config.brand_zone(brand.timezone), warehouse.transaction() as conn:
        sqlfiles.apply_settings(conn, marts_config.gucs())
        rows = conn.execute(
            """
            SELECT source, count(*) FILTER (WHERE status = 'missing'), bool_or(status = 'source_absent')
            FROM marts.source_coverage WHERE day >= current_date - %s AND day < current_date
            GROUP BY source ORDER BY source""",
            (lookback,),
        ).fetchall()
    gaps = {s: m for s, m, absent in rows if m}
    absent = [s for s, _, a in rows if a]
    return dg.AssetCheckResult(
        passed=not gaps,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "missing_days": dg.MetadataValue.json(gaps),
            "sources_absent": dg.MetadataValue.text(", ".join(absent) or "-"),
        },
    )


@dg.asset_check(
    asset=K("customer_segments"),
    blocking=True,
    description="Each refreshed day has exactly one segment row per known customer.",
)
def segments_complete(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    brand, warehouse = brand_warehouse(context, warehouse)
    with marts_config.brand_zone(brand.timezone), warehouse.transaction() as conn:
        sqlfiles.apply_settings(conn, marts_config.gucs())
        day, rows, people = conn.execute("""
            WITH d AS (SELECT max(as_of) AS day FROM marts.customer_segment_days)
            SELECT d.day, (SELECT count(*) FROM marts.customer_segments s WHERE s.as_of = d.day),
                   (SELECT count(*) FROM core.customers c
                     WHERE (c.first_seen_at AT TIME ZONE current_setting('marts.tz'))::date <= d.day)
            FROM d""").fetchone()
    return _result(rows == people, day=str(day), rows=rows, customers=people)


# The blocking checks of the core tables run inside the model's step (gates.py).
CHECKS = [
    revenue_anomaly,
    sessions_anomaly,
    sources_fresh,
    segments_complete,
]
