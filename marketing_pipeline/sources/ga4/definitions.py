import dagster as dg

from marketing_pipeline.sources.ga4.assets import ga4_assets
from marketing_pipeline.sources.ga4.resource import from_env

defs = dg.Definitions(assets=ga4_assets, resources={"ga4": from_env()})
