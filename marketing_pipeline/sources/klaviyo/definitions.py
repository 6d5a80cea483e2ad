import dagster as dg

from marketing_pipeline.sources.klaviyo import assets_catalog, assets_events, assets_profiles, assets_reports
from marketing_pipeline.sources.klaviyo.checks import klaviyo_reports_match_events
from marketing_pipeline.sources.klaviyo.resource import from_env

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets_events, assets_catalog, assets_profiles, assets_reports]),
    asset_checks=[klaviyo_reports_match_events],
    resources={"klaviyo": from_env()},
)
