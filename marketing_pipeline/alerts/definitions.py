import dagster as dg

from marketing_pipeline.alerts.freshness import freshness_checks
from marketing_pipeline.alerts.sensors import SENSORS
from marketing_pipeline.alerts.slack import from_env

checks = freshness_checks()
defs = dg.Definitions(
    asset_checks=checks,
    sensors=[
        *SENSORS,
        dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, default_status=dg.DefaultSensorStatus.RUNNING
        ),
    ],
    resources={"slack": from_env()},
)
