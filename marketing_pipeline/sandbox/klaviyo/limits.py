"""What the Klaviyo emulator serves and enforces, written from Klaviyo's published API description.

The emulator checks the pipeline's client, so nothing here comes from that client. Source: Klaviyo's
OpenAPI document ``openapi/stable.json`` (GitHub ``klaviyo/openapi``, commit ``f0a30ba4``,
``info.version`` 2026-07-15), as digested in the shared specs README ("Klaviyo"):

- revision: ``info.version``, also the ``default`` of every operation's required ``revision`` header;
- media type: the ``requestBody``/``responses`` content keys (``application/vnd.api+json``);
- page sizes: each list operation's ``page[size]`` parameter schema (``default``, ``maximum``);
- rate limits: each operation's ``x-klaviyo-ratelimit`` (``burst``, ``steady``, ``daily``) and the
  "Rate limits when using ``additional-fields[...]``" lines of its ``description``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

# The newest revision served (spec ``info.version``); later revisions are refused.
REVISION = "2026-07-15"
# Request and response bodies (spec: every operation's ``content`` key).
JSONAPI = "application/vnd.api+json"


@dataclass(frozen=True)
class PageSize:
    default: int  # ``page[size]`` schema ``default``: the page served when none is asked for
    maximum: int  # schema ``maximum``: larger values are refused with 400
    served: int  # the most items one page actually holds (below ``maximum`` only where the text says so)


# ``page[size]`` per list resource (``GET /api/<resource>``), from its parameter schema (minimum 1 everywhere).
# ``GET /api/metrics`` takes no ``page[size]``.
PAGE_SIZES: dict[str, PageSize] = {
    "campaigns": PageSize(default=100, maximum=100, served=100),  # get_campaigns
    "flows": PageSize(default=50, maximum=50, served=50),  # get_flows
    "flow-actions": PageSize(default=50, maximum=50, served=50),  # get_actions_for_flow
    "profiles": PageSize(default=20, maximum=100, served=100),  # get_profiles
    "lists": PageSize(default=10, maximum=10, served=10),  # get_lists
    "segments": PageSize(default=10, maximum=10, served=10),  # get_segments
    # get_events: schema maximum 1000, but the operation text says "Returns a maximum of 200 events per page"
    "events": PageSize(default=200, maximum=1000, served=200),
}

# Rate-limit tiers by their published windows: (requests, seconds). The names XS..XL are the tier
# names of Klaviyo's guide "Rate limits, status codes, and errors"; REPORTS is this table's name
# for the reporting operations' ``burst 1/s, steady 2/m, daily 225/d``.
TIER_LIMITS: dict[str, tuple[tuple[int, int], ...]] = {
    "XS": ((1, 1), (15, 60)),
    "S": ((3, 1), (60, 60)),
    "M": ((10, 1), (150, 60)),
    "L": ((75, 1), (750, 60)),
    "XL": ((350, 1), (3500, 60)),
    "REPORTS": ((1, 1), (2, 60), (225, 86_400)),
}

# (method, path template) -> tier, for every operation the emulator serves; the comment is the
# operation's ``operationId`` and ``x-klaviyo-ratelimit``.
TIER_BY_OPERATION: dict[tuple[str, str], str] = {
    ("GET", "/api/metrics"): "M",  # get_metrics 10/s 150/m
    ("GET", "/api/events"): "XL",  # get_events 350/s 3500/m
    ("POST", "/api/events"): "XL",  # create_event 350/s 3500/m
    ("POST", "/api/event-bulk-create-jobs"): "M",  # bulk_create_events 10/s 150/m
    ("GET", "/api/profiles"): "L",  # get_profiles 75/s 750/m
    ("GET", "/api/lists"): "L",  # get_lists 75/s 750/m
    # create_list 10/s 150/m and daily 150/d: the daily cap is not enforced (no tier has it)
    ("POST", "/api/lists"): "M",
    ("GET", "/api/lists/{id}"): "L",  # get_list 75/s 750/m
    ("GET", "/api/lists/{id}/relationships/profiles"): "L",  # get_profile_ids_for_list 75/s 750/m
    ("POST", "/api/lists/{id}/relationships/profiles"): "M",  # add_profiles_to_list 10/s 150/m
    ("DELETE", "/api/lists/{id}/relationships/profiles"): "M",  # remove_profiles_from_list 10/s 150/m
    ("GET", "/api/segments"): "L",  # get_segments 75/s 750/m
    ("GET", "/api/segments/{id}"): "L",  # get_segment 75/s 750/m
    ("GET", "/api/campaigns"): "M",  # get_campaigns 10/s 150/m
    ("GET", "/api/campaigns/{id}/campaign-messages"): "M",  # get_messages_for_campaign 10/s 150/m
    ("GET", "/api/flows"): "S",  # get_flows 3/s 60/m
    ("GET", "/api/flows/{id}/flow-actions"): "S",  # get_actions_for_flow 3/s 60/m
    ("GET", "/api/flow-actions/{id}/flow-messages"): "S",  # get_flow_action_messages 3/s 60/m
    ("POST", "/api/campaign-values-reports"): "REPORTS",  # query_campaign_values 1/s 2/m 225/d
    ("POST", "/api/flow-values-reports"): "REPORTS",  # query_flow_values 1/s 2/m 225/d
    ("POST", "/api/flow-series-reports"): "REPORTS",  # query_flow_series 1/s 2/m 225/d
    ("POST", "/api/profile-bulk-import-jobs"): "M",  # bulk_import_profiles 10/s 150/m
    ("GET", "/api/profile-bulk-import-jobs/{job_id}"): "M",  # get_bulk_import_profiles_job 10/s 150/m
    # get_errors_for_bulk_import_profiles_job 10/s 150/m
    ("GET", "/api/profile-bulk-import-jobs/{id}/import-errors"): "M",
    # get_profiles_for_bulk_import_profiles_job 10/s 150/m
    ("GET", "/api/profile-bulk-import-jobs/{id}/profiles"): "M",
    ("POST", "/api/profile-subscription-bulk-create-jobs"): "L",  # bulk_subscribe_profiles 75/s 750/m
    ("POST", "/api/profile-subscription-bulk-delete-jobs"): "L",  # bulk_unsubscribe_profiles 75/s 750/m
}

# Operations whose ``description`` gives other limits when an ``additional-fields`` value is asked for:
# (method, path template, query parameter, value) -> tier.
TIER_WITH_ADDITIONAL_FIELD: dict[tuple[str, str, str, str], str] = {
    ("GET", "/api/lists/{id}", "additional-fields[list]", "profile_count"): "XS",  # 1/s 15/m
    ("GET", "/api/segments/{id}", "additional-fields[segment]", "profile_count"): "XS",  # 1/s 15/m
    ("GET", "/api/profiles", "additional-fields[profile]", "predictive_analytics"): "M",  # 10/s 150/m
    (
        "GET",
        "/api/lists/{id}/relationships/profiles",
        "additional-fields[profile]",
        "predictive_analytics",
    ): "M",  # 10/s 150/m
}
DEFAULT_TIER = "M"  # an operation not listed above (the emulator serves none)


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")


_OPERATIONS = [(method, _pattern(template), template) for method, template in TIER_BY_OPERATION]


def operation(method: str, path: str) -> str | None:
    """The path template of the served operation ``method path`` matches (trailing slash allowed)."""
    path = path.rstrip("/") or "/"
    return next((t for m, p, t in _OPERATIONS if m == method.upper() and p.match(path)), None)


def tier_of(method: str, path: str, query: str = "") -> str:
    """The rate-limit tier a request counts against: ``path`` without host, ``query`` the raw query."""
    template = operation(method, path)
    if template is None:
        return DEFAULT_TIER
    params = parse_qs(query)
    for (m, t, name, value), tier in TIER_WITH_ADDITIONAL_FIELD.items():
        if m == method.upper() and t == template:
            if any(value in v.split(",") for v in params.get(name, [])):
                return tier
    return TIER_BY_OPERATION[(method.upper(), template)]
