import dagster as dg

from marketing_pipeline.cart_recovery.job import cart_recovery_job
from marketing_pipeline.cart_recovery.reporting import cart_recovery_daily
from marketing_pipeline.cart_recovery.sensor import abandoned_cart_sensor
from marketing_pipeline.sources.sendgrid.assets import sendgrid_suppressions
from marketing_pipeline.sources.sendgrid.resource import from_env

defs = dg.Definitions(
    assets=[cart_recovery_daily, sendgrid_suppressions],
    jobs=[cart_recovery_job],
    sensors=[abandoned_cart_sensor],
    resources={"sendgrid": from_env()},
)
