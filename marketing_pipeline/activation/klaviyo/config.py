"""The default lists and the thresholds their membership SQL uses (overridable per run)."""

import dagster as dg

PLACED_ORDER = "Placed Order"
ALL_CUSTOMERS, NEW_SUBSCRIBERS, VIP, ACTIVE = "All Customers", "New Subscribers", "VIP", "Active"
DEFAULT_LISTS = (ALL_CUSTOMERS, NEW_SUBSCRIBERS, VIP, ACTIVE)

VIP_LIFETIME_REVENUE = 250.0  # placed-order revenue (order totals, any channel) at or above this
ACTIVE_WITHIN_DAYS = 90  # placed an order within this many days
NEW_SUBSCRIBER_WITHIN_DAYS = 30  # latest email consent is a yes, recorded within this many days
BACKFILL_AFTER_HOURS = 48  # older orders are sent with backfill=true so flows do not fire for them


class ListConfig(dg.Config):
    vip_lifetime_revenue: float = VIP_LIFETIME_REVENUE
    active_within_days: int = ACTIVE_WITHIN_DAYS
    new_subscriber_within_days: int = NEW_SUBSCRIBER_WITHIN_DAYS


class ProfileSyncConfig(dg.Config):
    poll_interval_seconds: float = 2.0  # first wait between job status reads; doubles up to 30 s
    poll_timeout_seconds: float = 1800.0


class EventSyncConfig(dg.Config):
    backfill_after_hours: int = BACKFILL_AFTER_HOURS
