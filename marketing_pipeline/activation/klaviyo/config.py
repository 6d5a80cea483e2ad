"""Run configuration of the Klaviyo syncs; list membership comes from the marts segments."""

import dagster as dg

PLACED_ORDER = "Placed Order"
ALL_CUSTOMERS, NEW_SUBSCRIBERS, VIP, ACTIVE = "All Customers", "New Subscribers", "VIP", "Active"
DEFAULT_LISTS = (ALL_CUSTOMERS, NEW_SUBSCRIBERS, VIP, ACTIVE)
# Klaviyo list name -> marts segment (names in marts.segment_members; thresholds are MARTS_* settings).
DEFAULT_LIST_SEGMENTS = {
    ALL_CUSTOMERS: "customer",
    NEW_SUBSCRIBERS: "new_subscriber",
    VIP: "vip",
    ACTIVE: "active",
}
BACKFILL_AFTER_HOURS = 48  # older orders are sent with backfill=true so flows do not fire for them


class ListConfig(dg.Config):
    """Lists kept equal to a marts segment; ``extra_lists`` adds more, e.g. ``{"Lapsed": "lapsed"}``."""

    lists: dict[str, str] = DEFAULT_LIST_SEGMENTS
    extra_lists: dict[str, str] = {}

    def all_lists(self) -> dict[str, str]:
        return {**self.lists, **self.extra_lists}


class ProfileSyncConfig(dg.Config):
    poll_interval_seconds: float = 2.0  # first wait between job status reads; doubles up to 30 s
    poll_timeout_seconds: float = 1800.0


class EventSyncConfig(dg.Config):
    backfill_after_hours: int = BACKFILL_AFTER_HOURS
    # Orders placed more than this many days ago are not sent (None: every order). For a first
    # sync over a long history whose older orders Klaviyo already holds from the store.
    since_days: int | None = None
