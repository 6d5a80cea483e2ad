"""Asset checks. Blocking ones guard what activation and the dashboard read (a failure stops the
assets downstream of the checked one, and only those). The checks of the core tables and marts,
blocking and warnings (anomalies, stale sources), run in the model's step (``gates.py``); the
segments' one is here.

Each check runs in its asset's run and reads that run's brand's warehouse. Checks name their asset
by key: the assets are built when the definitions load (``assets.build``)."""

import dagster as dg

from marketing_pipeline.marts import sqlfiles
from marketing_pipeline.marts.assets import brand_warehouse
from marketing_pipeline.settings import marts as marts_config
from marketing_pipeline.warehouse import WarehouseResource

K = dg.AssetKey


def _result(passed: bool, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=passed, metadata={k: v for k, v in metadata.items() if v is not None})


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


# The checks of the core tables and marts run inside the model's step (gates.py).
CHECKS = [segments_complete]
