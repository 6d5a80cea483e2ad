"""After a backfill: Klaviyo's report totals against the events in the warehouse, within tolerance."""

from datetime import timedelta

import dagster as dg
import pytest

from marketing_pipeline.brand_partitions import brand_day_key
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.settings.brands import DEFAULT_ID
from marketing_pipeline.sources.klaviyo.assets_catalog import klaviyo_campaigns
from marketing_pipeline.sources.klaviyo.assets_events import klaviyo_events
from marketing_pipeline.sources.klaviyo.assets_reports import klaviyo_performance
from marketing_pipeline.sources.klaviyo.checks import klaviyo_reports_match_events
from marketing_pipeline_tests.conftest import TODAY
from marketing_pipeline_tests.klaviyo_support import emulator, resources, small_sandbox


@pytest.fixture(scope="module")
def klaviyo_sandbox():
    box = small_sandbox(TODAY)
    with BackgroundServer(box.app) as server:
        yield box, server.url


def _check(result) -> dg.AssetCheckEvaluation:
    return next(
        e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    )


def test_a_backfilled_range_matches_klaviyos_reports_and_a_gap_fails(klaviyo_sandbox, warehouse_url, conn):
    box, url = klaviyo_sandbox
    sent = sorted(c.send_time.date() for c in emulator(box).data.campaigns if c.status == "Sent")
    last = max(d for d in sent if d <= TODAY - timedelta(days=3))
    first = last - timedelta(days=6)
    tags = {
        "dagster/asset_partition_range_start": str(brand_day_key(DEFAULT_ID, first.isoformat())),
        "dagster/asset_partition_range_end": str(brand_day_key(DEFAULT_ID, last.isoformat())),
    }
    res = resources(url)
    assert dg.materialize([klaviyo_events], resources=res, tags=tags).success  # the backfill of events
    result = dg.materialize(
        [klaviyo_campaigns, klaviyo_performance, klaviyo_reports_match_events], resources=res, tags=tags
    )
    check = _check(result)
    assert check.passed, check.description
    assert int(check.metadata["campaign_recipients"].value.split(" vs ")[0]) > 0

    # a day of events lost: the check names what differs
    conn.execute(
        "DELETE FROM raw.klaviyo_events WHERE partition_date = %s AND metric_name = 'Received Email'",
        (last,),
    )
    again = dg.materialize(
        [klaviyo_reports_match_events, klaviyo_performance],
        resources=res,
        tags=tags,
        selection=dg.AssetSelection.checks(klaviyo_reports_match_events),
    )
    check = _check(again)
    assert not check.passed and "recipients" in check.description
