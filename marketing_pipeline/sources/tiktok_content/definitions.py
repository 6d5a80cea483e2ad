import dagster as dg

from marketing_pipeline.sources.tiktok_content import assets
from marketing_pipeline.sources.tiktok_content.resource import from_env

defs = dg.Definitions(assets=[assets.tiktok_content_daily], resources={"tiktok_content": from_env()})
