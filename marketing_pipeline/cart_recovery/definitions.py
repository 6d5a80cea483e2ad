"""Cart recovery's definitions. The recovery job's pool follows ``CART_RECOVERY_SENDER`` and there is
one abandoned-cart sensor per brand, so ``defs`` is built when first asked for (as the definitions
load), once per sender mode and list of brands."""

from functools import cache

import dagster as dg

from marketing_pipeline.cart_recovery.job import build_recovery_job
from marketing_pipeline.cart_recovery.reporting import build_cart_recovery_daily
from marketing_pipeline.cart_recovery.sensor import build_brand_sensors
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.recovery import sender_from_env
from marketing_pipeline.sources.sendgrid.assets import sendgrid_suppressions
from marketing_pipeline.sources.sendgrid.resource import from_env


@cache
def build(sender: str, brands: tuple[str, ...] = ()) -> dg.Definitions:
    return dg.Definitions(
        assets=[build_cart_recovery_daily(), sendgrid_suppressions],
        jobs=[build_recovery_job(sender)],
        sensors=build_brand_sensors(),
        resources={"sendgrid": from_env()},
    )


def __getattr__(name: str):
    if name == "defs":
        brands = brand_settings.load()
        return build(sender_from_env(), tuple((b.id, b.timezone) for b in brands))
    raise AttributeError(name)
