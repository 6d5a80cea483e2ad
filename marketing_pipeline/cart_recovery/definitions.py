"""Cart recovery's definitions. The recovery job's pool follows ``CART_RECOVERY_SENDER``, so ``defs``
is built when first asked for (as the definitions load), once per sender mode."""

from functools import cache

import dagster as dg

from marketing_pipeline.cart_recovery.job import build_recovery_job
from marketing_pipeline.cart_recovery.reporting import cart_recovery_daily
from marketing_pipeline.cart_recovery.sensor import abandoned_cart_sensor
from marketing_pipeline.settings.recovery import sender_from_env
from marketing_pipeline.sources.sendgrid.assets import sendgrid_suppressions
from marketing_pipeline.sources.sendgrid.resource import from_env


@cache
def build(sender: str) -> dg.Definitions:
    return dg.Definitions(
        assets=[cart_recovery_daily, sendgrid_suppressions],
        jobs=[build_recovery_job(sender)],
        sensors=[abandoned_cart_sensor],
        resources={"sendgrid": from_env()},
    )


def __getattr__(name: str):
    if name == "defs":
        return build(sender_from_env())
    raise AttributeError(name)
