"""The one Definitions: every asset, check, job, schedule, sensor and resource of the project.

Each part of the project exposes its own ``defs`` (a ``dg.Definitions``) in the module listed in
``COMPONENTS``; this file adds what they share (the warehouse, the daily ingest jobs and the
brands' lookback schedules, the same ingest on Celery workers, the executor limiting each vendor's
steps in a run) and merges them.

Nothing is built when this module is imported: Dagster calls ``load_defs`` when it loads the code
location, and ``defs`` (the same object) is built on first access. That is when the environment
(time zone, history start, vendor variables) is read.
"""

from __future__ import annotations

import importlib
from functools import cache

import dagster as dg

COMPONENTS = [
    "marketing_pipeline.sources.tiktok_content.definitions",
    "marketing_pipeline.sources.ga4.definitions",
    "marketing_pipeline.sources.tiktok_shop.definitions",
    "marketing_pipeline.sources.klaviyo.definitions",
    "marketing_pipeline.cart_recovery.definitions",
    "marketing_pipeline.sources.customerio.definitions",
    "marketing_pipeline.marts.definitions",
    "marketing_pipeline.activation.klaviyo.definitions",
    "marketing_pipeline.activation.customerio.definitions",
    "marketing_pipeline.activation.assets",
    "marketing_pipeline.alerts.definitions",
    "marketing_pipeline.activation.shopper_events.definitions",
]


def _environment_key() -> tuple:
    """What the definitions depend on: the calendar, the brands (their file's content: partitions,
    schedules), which vendor variables are set and who sends recovery mail (the recovery job's pool)."""
    from marketing_pipeline import settings
    from marketing_pipeline.settings.brands import brands_file
    from marketing_pipeline.settings.recovery import sender_from_env
    from marketing_pipeline.settings.vendors import set_variables

    cfg = settings.load()
    path = brands_file()
    brands = (str(path), path.read_bytes()) if path else None
    return cfg.brand_timezone, cfg.history_start, brands, set_variables(), sender_from_env()


@cache
def _build(environment: tuple) -> dg.Definitions:
    from marketing_pipeline import brand_dependencies
    from marketing_pipeline.automation import policy as automation
    from marketing_pipeline.celery_jobs import celery_ingest_jobs
    from marketing_pipeline.ingest import ingest_executor, ingest_jobs, raw_assets
    from marketing_pipeline.schedules import build_lookback_schedules
    from marketing_pipeline.warehouse import WarehouseResource

    components = [importlib.import_module(m).defs for m in COMPONENTS]
    raw = raw_assets(components)
    daily_ingest_jobs = ingest_jobs(
        "daily_ingest", raw, description="Ingest every source for the selected brand's days."
    )
    return automation.apply(
        brand_dependencies.apply(
            dg.Definitions.merge(
                dg.Definitions(
                    jobs=[*daily_ingest_jobs, *celery_ingest_jobs(raw)],
                    schedules=build_lookback_schedules(daily_ingest_jobs),
                    resources={"warehouse": WarehouseResource()},
                    executor=ingest_executor(),
                ),
                *components,
            )
        )
    )


@dg.definitions
def load_defs() -> dg.Definitions:
    return _build(_environment_key())


def __getattr__(name: str):
    if name == "defs":
        return _build(_environment_key())
    raise AttributeError(name)
