"""Concurrency limits per vendor pool, applied to the instance by ``marketing-pipeline ui|demo``.

dagster.yaml can only set one default for every pool; these are the per-vendor numbers, chosen
from each vendor's published rate limits (one line per vendor package).
"""

import dagster as dg

POOL_LIMITS = {
    "ga4_api": 2,  # GA4: 10 concurrent requests per property; token quotas per hour/day
    "tiktok_shop_api": 2,
    "sendgrid_api": 4,  # mail sends in parallel; no published rate limit for mail send
    "customerio_api": 1,  # App API 10 requests/s for the whole workspace
    "klaviyo_api": 1,
}


def apply_pool_limits(instance: dg.DagsterInstance) -> None:
    for pool, limit in POOL_LIMITS.items():
        instance.event_log_storage.set_concurrency_slots(pool, limit)
