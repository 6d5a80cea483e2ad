import dagster as dg

from marketing_pipeline.alerts.freshness import freshness_checks, freshness_schedule
from marketing_pipeline.alerts.sensors import SENSORS
from marketing_pipeline.alerts.slack import from_env


def __getattr__(name: str):
    # built when the definitions load: the checks read the brands when they run
    if name == "defs":
        checks = freshness_checks()
        return dg.Definitions(
            asset_checks=checks,
            sensors=SENSORS,
            schedules=[freshness_schedule(checks)],
            resources={"slack": from_env()},
        )
    raise AttributeError(name)
