import dagster as dg

from marketing_pipeline.activation.customerio import jobs as activation
from marketing_pipeline.sources.customerio import assets
from marketing_pipeline.sources.customerio.resource import from_env

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([assets]), *activation.ASSETS],
    jobs=activation.JOBS,
    resources={"customerio": from_env()},
)
