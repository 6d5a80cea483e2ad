import dagster as dg

from marketing_pipeline.sources.customerio import assets
from marketing_pipeline.sources.customerio.resource import from_env

defs = dg.Definitions(assets=dg.load_assets_from_modules([assets]), resources={"customerio": from_env()})
