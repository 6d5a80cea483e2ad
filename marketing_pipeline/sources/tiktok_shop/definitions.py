import dagster as dg

from marketing_pipeline.sources.tiktok_shop import assets
from marketing_pipeline.sources.tiktok_shop.changes import tiktok_shop_order_changes
from marketing_pipeline.sources.tiktok_shop.resource import from_env

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    sensors=[tiktok_shop_order_changes],
    resources={"tiktok_shop": from_env()},
)
