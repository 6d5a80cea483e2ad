import dagster as dg

from marketing_pipeline.alerts.freshness import freshness_checks, freshness_sensor
from marketing_pipeline.alerts.sensors import SENSORS
from marketing_pipeline.alerts.slack import from_env

checks = freshness_checks()
defs = dg.Definitions(
    asset_checks=checks,
    sensors=[*SENSORS, freshness_sensor(checks)],
    resources={"slack": from_env()},
)
