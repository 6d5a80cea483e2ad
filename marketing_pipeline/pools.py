"""Concurrency limits per vendor pool, applied to the instance by ``marketing-pipeline ui|demo``.

dagster.yaml can only set one default for every pool; these are the per-vendor numbers, chosen
from each vendor's published rate limits (one line per vendor package).
"""

import dagster as dg

POOL_LIMITS = {
    "tiktok_shop_api": 2,
}


def apply_pool_limits(instance: dg.DagsterInstance) -> None:
    for pool, limit in POOL_LIMITS.items():
        instance.event_log_storage.set_concurrency_slots(pool, limit)
