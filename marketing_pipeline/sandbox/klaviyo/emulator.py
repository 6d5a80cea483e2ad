"""A local Klaviyo API (revision 2026-07-15): the read endpoints the pipeline uses, over the sandbox brand.

Mounted by the sandbox under ``/klaviyo``. It checks the private key and the ``revision`` header
as Klaviyo does (error objects with id, status, code, title, detail, source), counts requests per
operation (each has its own ``x-klaviyo-ratelimit``) in fixed one-second, one-minute and one-day
windows and answers 429 with ``Retry-After`` when a window is full, pages with ``page[cursor]`` and ``links.next``, and
applies the ``filter=`` expressions the pipeline sends. Events are generated an hour at a
time (see ``sandbox_data``), so a very large day streams out page by page.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import importlib.util
import math
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from marketing_pipeline.sandbox import credentials
from marketing_pipeline.sandbox.klaviyo import cart_flow
from marketing_pipeline.sandbox.klaviyo import emulator_filters as filters
from marketing_pipeline.sandbox.klaviyo.data import Ev, KlaviyoData, iso
from marketing_pipeline.sandbox.klaviyo.limits import (
    JSONAPI,
    PAGE_SIZES,
    REVISION,
    TIER_LIMITS,
    operation,
    tier_of,
)
from marketing_pipeline.sandbox.world import World

API_KEY = credentials.KLAVIYO_API_KEY
_REVISION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
REPORT_STATISTICS = {
    "recipients",
    "delivered",
    "opens",
    "opens_unique",
    "clicks",
    "clicks_unique",
    "bounced",
    "unsubscribes",
    "unsubscribe_uniques",
    "conversions",
    "conversion_uniques",
    "conversion_value",
    "open_rate",
    "click_rate",
    "bounce_rate",
    "unsubscribe_rate",
    "conversion_rate",
    "delivery_rate",
    "revenue_per_recipient",
    "average_order_value",
    "click_to_open_rate",
}


def error(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    pointer: str | None = None,
    parameter: str | None = None,
    headers: dict | None = None,
) -> JSONResponse:
    source = {k: v for k, v in (("pointer", pointer), ("parameter", parameter)) if v}
    body = {
        "errors": [
            {
                "id": str(uuid.uuid4()),
                "status": status,
                "code": code,
                "title": title,
                "detail": detail,
                **({"source": source} if source else {}),
            }
        ]
    }
    return JSONResponse(body, status_code=status, media_type=JSONAPI, headers=headers)


_ENCODER = msgspec.json.Encoder()


class _Document(Response):
    """A JSON:API document encoded with msgspec: a day of events is a thousand pages of 200, and
    the standard library's encoder was most of the time the emulator spent on each."""

    media_type = JSONAPI

    def render(self, content: object) -> bytes:
        return _ENCODER.encode(content)


def document(body: dict) -> Response:
    return _Document(body)


def _cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(":".join(map(str, parts)).encode()).decode().rstrip("=")


def _uncursor(token: str) -> list[str]:
    try:
        return base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()).decode().split(":")
    except (ValueError, UnicodeDecodeError):
        raise filters.FilterError("page[cursor] is invalid") from None


def event_json(ev: Ev, metric_id: str, base: str) -> dict:
    """One event as a JSON:API resource object (module level so tests can alter what is served)."""
    return {
        "type": "event",
        "id": ev.id,
        "attributes": {
            "timestamp": int(ev.at.timestamp()),
            "event_properties": ev.props,
            "datetime": iso(ev.at),
            "uuid": str(uuid.UUID(bytes=hashlib.sha256(ev.id.encode()).digest()[:16])),
        },
        "relationships": {
            "profile": {
                "data": {"type": "profile", "id": ev.profile_id},
                "links": {
                    "self": f"{base}/api/events/{ev.id}/relationships/profile/",
                    "related": f"{base}/api/events/{ev.id}/profile/",
                },
            },
            "metric": {
                "data": {"type": "metric", "id": metric_id},
                "links": {
                    "self": f"{base}/api/events/{ev.id}/relationships/metric/",
                    "related": f"{base}/api/events/{ev.id}/metric/",
                },
            },
        },
        "links": {"self": f"{base}/api/events/{ev.id}/"},
    }


class KlaviyoEmulator:
    def __init__(self, world: World, account_timezone: str | None = None):
        self.world = world
        self.data = KlaviyoData(world)
        # the account's time zone, in which report timeframes are read: the brand's
        self.tz = ZoneInfo(account_timezone) if account_timezone else world.tz
        self.limits = dict(TIER_LIMITS)
        self.requests: list[tuple[str, str, str]] = []  # (method, path, query) of every accepted request
        self.throttled = 0
        # (operation, tier, seconds) -> (window, count)
        self._windows: dict[tuple[str, str, int], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._hour = lru_cache(maxsize=48)(self._generate_hour)
        # per UTC hour: its flow tally, taken when the hour is generated (the events never change)
        self._flow_tallies: dict[datetime, dict] = {}

    def app(self) -> Starlette:
        routes = [
            Route("/api/metrics", self.metrics, methods=["GET"]),
            Route("/api/events", self.events, methods=["GET"]),
            Route("/api/profiles", self.profiles, methods=["GET"]),
            Route("/api/lists", self.lists, methods=["GET"]),
            Route("/api/lists/{id}", self.list_one, methods=["GET"]),
            Route("/api/segments", self.segments, methods=["GET"]),
            Route("/api/segments/{id}", self.segment_one, methods=["GET"]),
            Route("/api/campaigns", self.campaigns, methods=["GET"]),
            Route("/api/campaigns/{id}/campaign-messages", self.campaign_messages, methods=["GET"]),
            Route("/api/flows", self.flows, methods=["GET"]),
            Route("/api/flows/{id}/flow-actions", self.flow_actions, methods=["GET"]),
            Route("/api/flow-actions/{id}/flow-messages", self.flow_messages, methods=["GET"]),
            Route("/api/campaign-values-reports", self.campaign_values, methods=["POST"]),
            Route("/api/flow-values-reports", self.flow_values, methods=["POST"]),
            Route("/api/flow-series-reports", self.flow_series, methods=["POST"]),
        ]
        if importlib.util.find_spec("marketing_pipeline.sandbox.klaviyo.emulator_writes"):
            from marketing_pipeline.sandbox.klaviyo import emulator_writes

            routes = routes + emulator_writes.write_routes(self)  # same path, other methods: theirs
        return Starlette(routes=routes)

    # -- what every request goes through ---------------------------------------------------
    def check(self, request: Request) -> Response | None:
        """Key, revision and rate limit, as Klaviyo answers them; None when the request may proceed."""
        auth = request.headers.get("authorization", "")
        if not auth:
            return error(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                "Missing `Authorization` header.",
            )
        scheme, _, key = auth.partition(" ")
        if scheme != "Klaviyo-API-Key" or key.strip() != API_KEY:
            return error(
                401,
                "authentication_failed",
                "Incorrect authentication credentials.",
                "Incorrect authentication credentials.",
            )
        revision = request.headers.get("revision")
        if not revision:
            return error(
                400, "invalid", "Invalid input.", "Missing required header 'revision'.", parameter="revision"
            )
        if not _REVISION_RE.match(revision):
            return error(
                400,
                "invalid",
                "Invalid input.",
                f"'{revision}' is not a valid revision; use YYYY-MM-DD, e.g. {REVISION}.",
                parameter="revision",
            )
        if revision[:10] > REVISION:
            return error(
                400,
                "invalid",
                "Invalid input.",
                f"Revision {revision} is not available.",
                parameter="revision",
            )
        return self.throttle(request)

    def throttle(self, request: Request) -> Response | None:
        path = request.url.path[len(request.scope.get("root_path", "")) :]
        tier = tier_of(request.method, path, request.url.query)
        op = f"{request.method} {operation(request.method, path) or path}"
        now = time.time()
        with self._lock:
            wait = 0.0
            for n, seconds in self.limits[tier]:
                window, count = self._windows.get((op, tier, seconds), (int(now // seconds), 0))
                if window == int(now // seconds) and count >= n:
                    wait = max(wait, (window + 1) * seconds - now)
            if wait > 0:
                self.throttled += 1
                retry = max(1, math.ceil(wait))
                return error(
                    429,
                    "throttled",
                    "Request was throttled.",
                    f"Request was throttled. Expected available in {retry} second{'s' * (retry != 1)}.",
                    headers={"Retry-After": str(retry)},
                )
            for _, seconds in self.limits[tier]:  # fixed windows: the count restarts with each window
                window, count = self._windows.get((op, tier, seconds), (int(now // seconds), 0))
                current = int(now // seconds)
                self._windows[(op, tier, seconds)] = (current, count + 1 if window == current else 1)
            self.requests.append((request.method, path, request.url.query))
            if len(self.requests) > 200_000:  # a long-running sandbox keeps the recent half
                del self.requests[:100_000]
        return None

    def _page_size(self, request: Request, resource: str) -> int:
        size = PAGE_SIZES[resource]
        raw = request.query_params.get("page[size]")
        if raw is None:
            return size.default
        if not raw.isdigit() or not 1 <= int(raw) <= size.maximum:
            raise filters.FilterError(f"page[size] must be an integer between 1 and {size.maximum}")
        return min(int(raw), size.served)

    def _base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/") + request.scope.get("root_path", "")

    @staticmethod
    def _links(request: Request, next_token: str | None) -> dict:
        links = {"self": str(request.url)}
        if next_token:
            links["next"] = str(request.url.include_query_params(**{"page[cursor]": next_token}))
        return links

    def _offset_page(self, request: Request, items: list, size: int) -> tuple[list, dict]:
        offset = 0
        if request.query_params.get("page[cursor]"):
            parts = _uncursor(request.query_params["page[cursor]"])
            if parts[0] != "o" or len(parts) != 2 or not parts[1].isdigit():
                raise filters.FilterError("page[cursor] is invalid")
            offset = int(parts[1])
        page = items[offset : offset + size]
        more = offset + size < len(items)
        return page, self._links(request, _cursor("o", offset + size) if more else None)

    async def _guard(self, request: Request) -> Response | None:
        return self.check(request)

    # -- metrics ------------------------------------------------------------------------
    def metric_json(self, name: str, mid: str, base: str) -> dict:
        integration = (
            {
                "object": "integration",
                "id": "0eMvjm",
                "key": "shopify",
                "name": "Shopify",
                "category": "eCommerce",
            }
            if name
            in (
                "Placed Order",
                "Ordered Product",
                "Started Checkout",
                "Refunded Order",
                "Cancelled Order",
                "Viewed Product",
            )
            else {
                "object": "integration",
                "id": "0rG4eQ",
                "key": "klaviyo",
                "name": "Klaviyo",
                "category": "Internal",
            }
        )
        created = iso(self.data.epoch)
        return {
            "type": "metric",
            "id": mid,
            "attributes": {"name": name, "created": created, "updated": created, "integration": integration},
            "links": {"self": f"{base}/api/metrics/{mid}/"},
        }

    async def metrics(self, request: Request) -> Response:
        if err := await self._guard(request):
            return err
        base = self._base(request)
        return document(
            {
                "data": [self.metric_json(n, m, base) for n, m in self.data.metrics.items()],
                "links": self._links(request, None),
            }
        )

    # -- events -------------------------------------------------------------------------
    async def events(self, request: Request) -> Response:
        if err := await self._guard(request):
            return err
        q = request.query_params
        try:
            size = self._page_size(request, "events")
            terms = filters.parse(q.get("filter"))
            for t in terms:
                if t.field not in ("datetime", "timestamp", "metric_id", "profile_id"):
                    raise filters.FilterError(f"'{t.field}' is not a filterable field of events")
            window = filters.time_window([t for t in terms if t.field == "datetime"], "datetime")
            metric = next((t.value for t in terms if t.field == "metric_id" and t.op == "equals"), None)
            profile = next((t.value for t in terms if t.field == "profile_id" and t.op == "equals"), None)
            if q.get("sort", "datetime") != "datetime":
                raise filters.FilterError("this sandbox sorts events by 'datetime' only")
            start_hour, offset = None, 0
            if q.get("page[cursor]"):
                parts = _uncursor(q["page[cursor]"])
                if parts[0] != "h" or len(parts) != 3:
                    raise filters.FilterError("page[cursor] is invalid")
                start_hour, offset = int(parts[1]), int(parts[2])
        except (filters.FilterError, ValueError) as exc:
            return error(400, "invalid", "Invalid input.", str(exc), parameter="filter")
        metric_name = self.data.metric_names.get(metric) if metric else None
        if metric and not metric_name:
            return document({"data": [], "links": self._links(request, None)})
        lo, hi = window[0], window[1]
        first = datetime.combine(self.world.start, datetime.min.time(), tzinfo=UTC)
        last = datetime.combine(self.world.today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        lo = max(lo, first) if lo else first
        hi = min(hi, last) if hi else last
        hour = start_hour if start_hour is not None else int(lo.timestamp() // 3600)
        end_hour = math.ceil(hi.timestamp() / 3600)
        flow_emails = self.cart_flow_emails()
        out: list[tuple[Ev, str]] = []
        next_token = None
        while hour < end_hour:
            hour_start = datetime.fromtimestamp(hour * 3600, UTC)
            block = self._hour(hour_start)
            extra = [e for e in flow_emails if hour * 3600 <= e.at.timestamp() < (hour + 1) * 3600]
            if extra:
                block = sorted([*block, *extra], key=lambda e: (e.at, e.id))
            inside = filters.within(hour_start, window) and filters.within(
                hour_start + timedelta(seconds=3599), window
            )
            if inside and not metric_name and not profile:
                matches = block  # the common case (a whole day, every metric): no copy per page
            else:
                matches = [
                    e
                    for e in block
                    if (not metric_name or e.metric == metric_name)
                    and (not profile or e.profile_id == profile)
                    and filters.within(e.at, window)
                ]
            take = matches[offset : offset + size - len(out)]
            out.extend((e, self.data.metrics[e.metric]) for e in take)
            if len(out) >= size:
                used = offset + len(take)
                next_token = (
                    _cursor("h", hour, used)
                    if used < len(matches)
                    else (_cursor("h", hour + 1, 0) if hour + 1 < end_hour else None)
                )
                break
            hour, offset = hour + 1, 0
        base = self._base(request)
        return document(
            {"data": [event_json(e, mid, base) for e, mid in out], "links": self._links(request, next_token)}
        )

    def cart_flow_emails(self) -> list[Ev]:
        """The live abandoned-checkout flow's emails to profiles the pipeline sent events for."""
        writes = getattr(self, "writes", None)
        if writes is None or not writes.events:
            return []
        flow = next(f for f in self.data.flows if f.name == "Abandoned Checkout")
        return cart_flow.emails(flow, writes.events, writes.suppressed_at, writes.clock())

    def written_profiles(self, emails: set[str] | None = None) -> list[tuple[datetime, str, dict]]:
        """Profiles the pipeline created (not the account's generated ones), as (updated, id, attributes);
        only those of ``emails`` when given."""
        writes = getattr(self, "writes", None)
        if writes is None:
            return []
        world = self._generated_ids
        if emails is None:
            items = writes.profiles.items()
        else:
            ids = {pid for e in emails if (pid := writes.by_email.get(e))}
            items = [(pid, writes.profiles[pid]) for pid in ids if pid in writes.profiles]
        return [
            (datetime.fromisoformat(a["updated"]), pid, a)
            for pid, a in items
            if pid not in world and a.get("updated")
        ]

    @cached_property
    def _generated_ids(self) -> frozenset[str]:
        return frozenset(self.data._profile_ids)

    @cached_property
    def _generated_by_email(self) -> dict[str, tuple]:
        return {r[2].email.strip().lower(): r for r in self.data.profiles_by_updated if r[2].email}

    @staticmethod
    def _emails_asked(terms) -> set[str] | None:
        """The emails of an ``equals(email,...)`` or ``any(email,[...])`` term, lower-cased; None without one."""
        found = None
        for t in terms:
            if t.field == "email":
                if t.op not in ("equals", "any"):
                    raise filters.FilterError(f"operator '{t.op}' is not allowed for 'email'")
                values = t.value if t.op == "any" else [t.value]
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise filters.FilterError("'email' takes a string, or a list of strings with 'any'")
                found = (
                    {v.strip().lower() for v in values}
                    if found is None
                    else found & {v.strip().lower() for v in values}
                )
        return found

    def written_profile_json(self, pid: str, a: dict, base: str, subscriptions: bool) -> dict:
        attrs = {
            "email": a.get("email"),
            "phone_number": a.get("phone_number"),
            "external_id": a.get("external_id"),
            "first_name": a.get("first_name"),
            "last_name": a.get("last_name"),
            "created": a["created"],
            "updated": a["updated"],
            "properties": a.get("properties", {}),
        }
        if subscriptions:
            email = (a.get("email") or "").lower()
            suppression = self.writes.suppressed.get(email)
            when = self.writes.suppressed_at.get(email)
            consented = self.writes.subscribed.get(email)
            attrs["subscriptions"] = {
                "email": {
                    "marketing": {
                        "can_receive_email_marketing": bool(consented) and not suppression,
                        "consent": "SUBSCRIBED" if consented else "NEVER_SUBSCRIBED",
                        "consent_timestamp": consented or None,
                        "last_updated": a["updated"],
                        "method": None,
                        "method_detail": None,
                        "custom_method_detail": None,
                        "double_optin": False,
                        "suppression": [
                            {"reason": suppression, "timestamp": when.isoformat() if when else a["updated"]}
                        ]
                        if suppression
                        else [],
                        "list_suppressions": [],
                    }
                }
            }
        return {
            "type": "profile",
            "id": pid,
            "attributes": attrs,
            "links": {"self": f"{base}/api/profiles/{pid}/"},
        }

    # -- profiles -----------------------------------------------------------------------
    def profile_json(self, pid: str, c, base: str, subscriptions: bool) -> dict:
        s = self.data.profile_state(c)
        attrs = {
            "email": c.email,
            "phone_number": c.phone,
            "external_id": str(c.customer_id),
            "first_name": c.first_name,
            "last_name": c.last_name,
            "organization": None,
            "locale": "en-US",
            "title": None,
            "image": None,
            "created": iso(s["created"]),
            "updated": iso(s["updated"]),
            "last_event_date": None,
            "location": {
                "address1": None,
                "address2": None,
                "city": c.city,
                "country": "United States",
                "latitude": None,
                "longitude": None,
                "region": c.region,
                "zip": None,
                "timezone": "America/Los_Angeles",
                "ip": None,
            },
            "properties": {"customer_id": c.customer_id, "tiktok_user_id": c.tiktok_user_id},
        }
        if subscriptions:
            attrs["subscriptions"] = {
                "email": {
                    "marketing": {
                        "can_receive_email_marketing": s["consent"] == "SUBSCRIBED" and not s["suppression"],
                        "consent": s["consent"],
                        "consent_timestamp": iso(s["consent_at"]),
                        "last_updated": iso(s["updated"]),
                        "method": "FORM" if c.accepts_marketing else None,
                        "method_detail": None,
                        "custom_method_detail": None,
                        "double_optin": False,
                        "suppression": s["suppression"],
                        "list_suppressions": [],
                    }
                }
            }
        return {
            "type": "profile",
            "id": pid,
            "attributes": attrs,
            "links": {"self": f"{base}/api/profiles/{pid}/"},
        }

    async def profiles(self, request: Request) -> Response:
        if err := await self._guard(request):
            return err
        q = request.query_params
        try:
            size = self._page_size(request, "profiles")
            terms = filters.parse(q.get("filter"))
            for t in terms:
                if t.field not in ("updated", "created", "email", "id"):
                    raise filters.FilterError(f"'{t.field}' is not a filterable field of profiles")
            updated = filters.time_window([t for t in terms if t.field == "updated"], "updated")
            created = filters.time_window([t for t in terms if t.field == "created"], "created")
            emails = self._emails_asked(terms)
            if q.get("sort", "updated") not in ("updated", "id"):
                raise filters.FilterError("this sandbox sorts profiles by 'updated' only")
            if emails is not None:  # looked up by email, not scanned: a sync reads back 100 at a time
                rows = sorted(r for e in emails if (r := self._generated_by_email.get(e)))
                written = self.written_profiles(emails)
            else:
                rows = self.data.profiles_by_updated
                if updated[0] is not None:
                    rows = rows[bisect.bisect_left(rows, (updated[0],), key=lambda r: (r[0],)) :]
                written = self.written_profiles()
            rows = [r for r in rows if filters.within(r[0], updated)]
            if created[0] is not None or created[1] is not None:
                rows = [r for r in rows if filters.within(self.data.profile_state(r[2])["created"], created)]
            written = [r for r in written if filters.within(r[0], updated)]
            if created[0] is not None or created[1] is not None:
                written = [
                    r for r in written if filters.within(datetime.fromisoformat(r[2]["created"]), created)
                ]
            if written:
                rows = sorted([*rows, *written], key=lambda r: (r[0], r[1]))
            page, links = self._offset_page(request, rows, size)
        except filters.FilterError as exc:
            return error(400, "invalid", "Invalid input.", str(exc), parameter="filter")
        subs = "subscriptions" in q.get("additional-fields[profile]", "")
        base = self._base(request)
        return document(
            {
                "data": [
                    self.written_profile_json(pid, c, base, subs)
                    if isinstance(c, dict)
                    else self.profile_json(pid, c, base, subs)
                    for _, pid, c in page
                ],
                "links": links,
            }
        )

    # -- lists and segments ---------------------------------------------------------------
    def _group_json(self, kind: str, g: dict, base: str, count: bool) -> dict:
        created = iso(self.data.epoch)
        attrs = {"name": g["name"], "created": created, "updated": created}
        if kind == "list":
            attrs["opt_in_process"] = g["opt_in"]
        else:
            attrs.update({"definition": None, "is_active": True, "is_processing": False, "is_starred": False})
        if count:
            attrs["profile_count"] = g["count"]
        plural = f"{kind}s"
        return {
            "type": kind,
            "id": g["id"],
            "attributes": attrs,
            "links": {"self": f"{base}/api/{plural}/{g['id']}/"},
        }

    async def _groups(self, request: Request, kind: str, items: list[dict]) -> Response:
        if err := await self._guard(request):
            return err
        try:
            page, links = self._offset_page(request, items, self._page_size(request, f"{kind}s"))
        except filters.FilterError as exc:
            return error(400, "invalid", "Invalid input.", str(exc), parameter="page[size]")
        base = self._base(request)
        return document({"data": [self._group_json(kind, g, base, False) for g in page], "links": links})

    async def _group(self, request: Request, kind: str, items: list[dict]) -> Response:
        if err := await self._guard(request):
            return err
        found = next((g for g in items if g["id"] == request.path_params["id"]), None)
        if not found:
            return error(
                404,
                "not_found",
                "Not found.",
                f"A {kind} with id {request.path_params['id']} does not exist.",
            )
        count = "profile_count" in request.query_params.get(f"additional-fields[{kind}]", "")
        return document(
            {
                "data": self._group_json(kind, found, self._base(request), count),
                "links": {"self": str(request.url)},
            }
        )

    def _all_lists(self) -> list[dict]:
        """The brand's lists plus any created through the write endpoints (``emulator_writes``)."""
        created = getattr(getattr(self, "writes", None), "lists", None) or {}
        return self.data.lists + [
            {
                "id": lid,
                "name": v["name"],
                "opt_in": v.get("opt_in_process", "single_opt_in"),
                "count": len(v.get("members") or {}),
            }
            for lid, v in created.items()
        ]

    async def lists(self, request: Request) -> Response:
        items = self._all_lists()
        name = re.fullmatch(r"equals\(name,'(.*)'\)", request.query_params.get("filter", ""))
        if name:
            items = [g for g in items if g["name"] == name.group(1)]
        elif request.query_params.get("filter"):
            return error(
                400,
                "invalid",
                "Invalid input.",
                "lists filter supports equals(name,'...') here",
                parameter="filter",
            )
        return await self._groups(request, "list", items)

    async def list_one(self, request: Request) -> Response:
        return await self._group(request, "list", self._all_lists())

    async def segments(self, request: Request) -> Response:
        return await self._groups(request, "segment", self.data.segments)

    async def segment_one(self, request: Request) -> Response:
        return await self._group(request, "segment", self.data.segments)

    # -- campaigns ------------------------------------------------------------------------
    def campaign_json(self, c, base: str) -> dict:
        updated = c.send_time or c.created_at
        return {
            "type": "campaign",
            "id": c.id,
            "attributes": {
                "name": c.name,
                "status": c.status,
                "archived": False,
                "audiences": {"included": [c.list_id], "excluded": []},
                "send_options": {"use_smart_sending": True},
                "tracking_options": {
                    "add_tracking_params": True,
                    "is_tracking_clicks": True,
                    "is_tracking_opens": True,
                },
                "send_strategy": {"method": "static", "datetime": iso(c.send_time or c.created_at)},
                "created_at": iso(c.created_at),
                "scheduled_at": iso(c.created_at + timedelta(days=1)),
                "updated_at": iso(updated),
                "send_time": iso(c.send_time) if c.send_time else None,
            },
            "relationships": {
                "campaign-messages": {
                    "data": [{"type": "campaign-message", "id": c.message_id}],
                    "links": {
                        "self": f"{base}/api/campaigns/{c.id}/relationships/campaign-messages/",
                        "related": f"{base}/api/campaigns/{c.id}/campaign-messages/",
                    },
                }
            },
            "links": {"self": f"{base}/api/campaigns/{c.id}/"},
        }

    def campaign_message_json(self, c, base: str) -> dict:
        return {
            "type": "campaign-message",
            "id": c.message_id,
            "attributes": {
                "definition": {
                    "channel": "email",
                    "label": c.name,
                    "content": {
                        "subject": c.subject,
                        "preview_text": "Inside: what is new this week",
                        "from_email": "hello@lumenleaf.example",
                        "from_label": self.world.brand,
                        "reply_to_email": None,
                        "cc_email": None,
                        "bcc_email": None,
                    },
                },
                "send_times": [{"datetime": iso(c.send_time), "is_local": False}] if c.send_time else [],
                "created_at": iso(c.created_at),
                "updated_at": iso(c.send_time or c.created_at),
            },
            "relationships": {
                "campaign": {
                    "data": {"type": "campaign", "id": c.id},
                    "links": {
                        "self": f"{base}/api/campaign-messages/{c.message_id}/relationships/campaign/",
                        "related": f"{base}/api/campaign-messages/{c.message_id}/campaign/",
                    },
                }
            },
            "links": {"self": f"{base}/api/campaign-messages/{c.message_id}/"},
        }

    async def campaigns(self, request: Request) -> Response:
        if err := await self._guard(request):
            return err
        q = request.query_params
        try:
            terms = filters.parse(q.get("filter"))
            channel = next(
                (t.value for t in terms if t.field == "messages.channel" and t.op == "equals"), None
            )
            if channel is None:
                return error(
                    400,
                    "invalid",
                    "Invalid input.",
                    "A channel filter is required. Use: "
                    "equals(messages.channel,'email'), 'sms' or 'mobile_push'.",
                    parameter="filter",
                )
            for t in terms:
                if t.field not in (
                    "messages.channel",
                    "created_at",
                    "updated_at",
                    "scheduled_at",
                    "archived",
                    "name",
                ):
                    raise filters.FilterError(f"'{t.field}' is not a filterable field of campaigns")
            updated = filters.time_window([t for t in terms if t.field == "updated_at"], "updated_at")
            items = [
                c
                for c in self.data.campaigns
                if channel == "email" and filters.within(c.send_time or c.created_at, updated)
            ]
            page, links = self._offset_page(request, items, self._page_size(request, "campaigns"))
        except filters.FilterError as exc:
            return error(400, "invalid", "Invalid input.", str(exc), parameter="filter")
        base = self._base(request)
        body = {"data": [self.campaign_json(c, base) for c in page], "links": links}
        if "campaign-messages" in q.get("include", ""):
            body["included"] = [self.campaign_message_json(c, base) for c in page]
        return document(body)

    async def campaign_messages(self, request: Request) -> Response:
        if err := await self._guard(request):
            return err
        found = next((c for c in self.data.campaigns if c.id == request.path_params["id"]), None)
        if not found:
            return error(
                404,
                "not_found",
                "Not found.",
                f"A campaign with id {request.path_params['id']} does not exist.",
            )
        return document(
            {
                "data": [self.campaign_message_json(found, self._base(request))],
                "links": {"self": str(request.url)},
            }
        )

    # -- flows ----------------------------------------------------------------------------
    def flow_json(self, f, base: str) -> dict:
        return {
            "type": "flow",
            "id": f.id,
            "attributes": {
                "name": f.name,
                "status": f.status,
                "archived": False,
                "created": iso(f.created),
                "updated": iso(f.created),
                "trigger_type": f.trigger_type,
            },
            "relationships": {
                "flow-actions": {
                    "data": [{"type": "flow-action", "id": a[0]} for a in f.actions],
                    "links": {
                        "self": f"{base}/api/flows/{f.id}/relationships/flow-actions/",
                        "related": f"{base}/api/flows/{f.id}/flow-actions/",
                    },
                }
            },
            "links": {"self": f"{base}/api/flows/{f.id}/"},
        }

    async def flows(self, request: Request) -> Response:
        if err := await self._guard(request):
            return err
        try:
            page, links = self._offset_page(request, self.data.flows, self._page_size(request, "flows"))
        except filters.FilterError as exc:
            return error(400, "invalid", "Invalid input.", str(exc), parameter="page[size]")
        base = self._base(request)
        body = {"data": [self.flow_json(f, base) for f in page], "links": links}
        if "flow-actions" in request.query_params.get("include", ""):
            body["included"] = [self.flow_action_json(f, a, base) for f in page for a in f.actions]
        return document(body)

    @staticmethod
    def flow_action_json(flow, action, base: str) -> dict:
        aid, kind, _ = action
        return {
            "type": "flow-action",
            "id": aid,
            "attributes": {
                "action_type": kind,
                "status": flow.status,
                "created": iso(flow.created),
                "updated": iso(flow.created),
            },
            "relationships": {"flow": {"data": {"type": "flow", "id": flow.id}}},
            "links": {"self": f"{base}/api/flow-actions/{aid}/"},
        }

    async def flow_actions(self, request: Request) -> Response:
        if err := await self._guard(request):
            return err
        flow = next((f for f in self.data.flows if f.id == request.path_params["id"]), None)
        if not flow:
            return error(
                404, "not_found", "Not found.", f"A flow with id {request.path_params['id']} does not exist."
            )
        base = self._base(request)
        try:
            page, links = self._offset_page(
                request, list(flow.actions), self._page_size(request, "flow-actions")
            )
        except filters.FilterError as exc:
            return error(400, "invalid", "Invalid input.", str(exc), parameter="page[size]")
        data = [self.flow_action_json(flow, a, base) for a in page]
        return document({"data": data, "links": links})

    async def flow_messages(self, request: Request) -> Response:
        if err := await self._guard(request):
            return err
        aid = request.path_params["id"]
        found = next(((f, a) for f in self.data.flows for a in f.actions if a[0] == aid), None)
        if not found:
            return error(404, "not_found", "Not found.", f"A flow action with id {aid} does not exist.")
        flow, (_, kind, mid) = found
        base = self._base(request)
        data = (
            []
            if not mid
            else [
                {
                    "type": "flow-message",
                    "id": mid,
                    "attributes": {
                        "name": f"{flow.name} email",
                        "channel": "email",
                        "created": iso(flow.created),
                        "updated": iso(flow.created),
                    },
                    "links": {"self": f"{base}/api/flow-messages/{mid}/"},
                }
            ]
        )
        return document({"data": data, "links": {"self": str(request.url)}})

    # -- reports --------------------------------------------------------------------------
    def _report_query(self, body: object, kind: str) -> tuple[list[str], datetime, datetime, dict]:
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise filters.FilterError("the body must be a JSON:API document with 'data'")
        data = body["data"]
        if data.get("type") != kind:
            raise filters.FilterError(f"data.type must be '{kind}'")
        a = data.get("attributes") or {}
        stats = a.get("statistics")
        if not isinstance(stats, list) or not stats:
            raise filters.FilterError("'statistics' is required")
        unknown = [s for s in stats if s not in REPORT_STATISTICS]
        if unknown:
            raise filters.FilterError(f"unknown statistics {unknown}")
        if not a.get("conversion_metric_id"):
            raise filters.FilterError("'conversion_metric_id' is required")
        tf = a.get("timeframe") or {}
        today = datetime.now(self.tz).date()
        keys = {
            "today": (today, today + timedelta(1)),
            "yesterday": (today - timedelta(1), today),
            "last_7_days": (today - timedelta(7), today),
            "last_30_days": (today - timedelta(30), today),
        }
        if "key" in tf:
            if tf["key"] not in keys:
                raise filters.FilterError(f"timeframe key '{tf['key']}' is not supported here")
            lo, hi = (datetime.combine(d, datetime.min.time(), tzinfo=self.tz) for d in keys[tf["key"]])
        else:
            try:  # the offset is ignored: start and end are read in the account's time zone
                lo, hi = (datetime.fromisoformat(tf[k]).replace(tzinfo=self.tz) for k in ("start", "end"))
            except (KeyError, TypeError, ValueError):
                raise filters.FilterError("'timeframe' needs a key or ISO-8601 'start' and 'end'") from None
        if hi <= lo or hi - lo > timedelta(days=366):
            raise filters.FilterError("timeframe must be between 0 and 1 year long")
        return stats, lo, hi, a

    def _hours(self, lo: datetime, hi: datetime):
        hour = int(lo.timestamp() // 3600)
        while hour * 3600 < hi.timestamp():
            yield from (e for e in self._hour(datetime.fromtimestamp(hour * 3600, UTC)) if lo <= e.at < hi)
            hour += 1

    @staticmethod
    def _stats(counts: dict, wanted: list[str]) -> dict:
        r = counts.get("recipients", 0)
        delivered = r - counts.get("bounced", 0)
        values = {
            **counts,
            "delivered": delivered,
            "conversion_uniques": counts.get("conversions", 0),
            "unsubscribe_uniques": counts.get("unsubscribes", 0),
            "conversion_value": round(counts.get("conversion_value", 0.0), 2),
        }
        ratio = lambda a, b: round(a / b, 4) if b else 0.0  # noqa: E731
        values.update(
            {
                "open_rate": ratio(values.get("opens_unique", 0), delivered),
                "click_rate": ratio(values.get("clicks_unique", 0), delivered),
                "click_to_open_rate": ratio(values.get("clicks_unique", 0), values.get("opens_unique", 0)),
                "bounce_rate": ratio(values.get("bounced", 0), r),
                "delivery_rate": ratio(delivered, r),
                "unsubscribe_rate": ratio(values.get("unsubscribes", 0), delivered),
                "conversion_rate": ratio(values.get("conversions", 0), delivered),
                "revenue_per_recipient": ratio(values["conversion_value"], delivered),
                "average_order_value": ratio(values["conversion_value"], values.get("conversions", 0)),
            }
        )
        return {s: values.get(s, 0) for s in wanted}

    @staticmethod
    def _count(counts: dict, ev: Ev) -> None:
        key = {
            "Received Email": "recipients",
            "Opened Email": "opens",
            "Clicked Email": "clicks",
            "Bounced Email": "bounced",
            "Unsubscribed": "unsubscribes",
        }.get(ev.metric)
        if key:
            counts[key] = counts.get(key, 0) + 1
            if key in ("opens", "clicks"):
                counts[f"{key}_unique"] = counts.get(f"{key}_unique", 0) + 1

    async def _report(self, request: Request, kind: str, build) -> Response:
        if err := await self._guard(request):
            return err
        try:
            body = await request.json()
        except ValueError:
            return error(400, "invalid", "Invalid input.", "The body is not JSON.", pointer="/data")
        try:
            stats, lo, hi, attrs = self._report_query(body, kind)
            payload = build(stats, lo, hi, attrs)
        except filters.FilterError as exc:
            return error(400, "invalid", "Invalid input.", str(exc), pointer="/data/attributes")
        return document({"data": {"type": kind, "attributes": payload}, "links": {"self": str(request.url)}})

    def _campaign_results(self, stats, lo, hi, attrs) -> dict:
        conv_metric = self.data.metric_names.get(attrs["conversion_metric_id"])
        results = []
        for c in self.data.campaigns:
            if not c.send_time or c.status != "Sent" or not lo <= c.send_time < hi:
                continue
            counts: dict = {}
            hour_start = c.send_time.replace(minute=0, second=0)
            for ev in self._hour(hour_start):
                if ev.props.get("$message") == c.message_id and "$flow" not in ev.props:
                    self._count(counts, ev)
            if conv_metric == "Placed Order":
                for o in self.world.orders_on(c.send_time.date()):
                    if o.utm.get("utm_source") == "klaviyo":
                        counts["conversions"] = counts.get("conversions", 0) + 1
                        counts["conversion_value"] = counts.get("conversion_value", 0.0) + float(o.total)
            results.append(
                {
                    "groupings": {
                        "send_channel": "email",
                        "campaign_id": c.id,
                        "campaign_message_id": c.message_id,
                    },
                    "statistics": self._stats(counts, stats),
                }
            )
        return {"results": results}

    def _tally_flows(self, events) -> dict[tuple[str, str], tuple[dict, list[float]]]:
        """Per (flow, message): counts, and the attributed order values in event order."""
        tally: dict[tuple[str, str], tuple[dict, list[float]]] = {}
        for ev in events:
            if "$flow" in ev.props:
                self._count(tally.setdefault((ev.props["$flow"], ev.props["$message"]), ({}, []))[0], ev)
            attribution = ev.props.get("$attribution") or {}
            if ev.metric == "Placed Order" and "$flow" in attribution:
                c, values = tally.setdefault((attribution["$flow"], attribution["$message"]), ({}, []))
                c["conversions"] = c.get("conversions", 0) + 1
                values.append(float(ev.props.get("$value") or 0))
        return tally

    def _generate_hour(self, hour_start: datetime) -> list[Ev]:
        events = self.data.hour_events(hour_start)
        key = hour_start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if key not in self._flow_tallies:
            self._flow_tallies[key] = self._tally_flows(events)
        return events

    def _hour_flows(self, hour_start: datetime) -> dict:
        """The flow tally of one whole UTC hour; generating the hour only if no page or report has."""
        key = hour_start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if key not in self._flow_tallies:
            self._generate_hour(key)
        return self._flow_tallies[key]

    def _flow_counts(self, lo: datetime, hi: datetime) -> dict[tuple[str, str], dict]:
        # Whole hours come from the tally taken when each hour was generated (for an events page or
        # a report), so a report over days does not generate every hour's events again.
        merged: dict[tuple[str, str], tuple[dict, list[float]]] = {}
        hour = int(lo.timestamp() // 3600)
        while hour * 3600 < hi.timestamp():
            start = datetime.fromtimestamp(hour * 3600, UTC)
            if lo <= start and start + timedelta(hours=1) <= hi:
                part = self._hour_flows(start)
            else:
                part = self._tally_flows(e for e in self._hour(start) if lo <= e.at < hi)
            for key, (c, values) in part.items():
                total, all_values = merged.setdefault(key, ({}, []))
                for k, v in c.items():
                    total[k] = total.get(k, 0) + v
                all_values.extend(values)
            hour += 1
        counts: dict[tuple[str, str], dict] = {}
        for key, (c, values) in merged.items():
            counts[key] = dict(c)
            if values:
                value = 0.0
                for v in values:  # summed one by one in event order, as a single pass would
                    value += v
                counts[key]["conversion_value"] = value
        return counts

    def _flow_values(self, stats, lo, hi, attrs) -> dict:
        counts = self._flow_counts(lo, hi)
        return {
            "results": [
                {
                    "groupings": {"flow_id": f, "send_channel": "email", "flow_message_id": m},
                    "statistics": self._stats(c, stats),
                }
                for (f, m), c in sorted(counts.items())
            ]
        }

    def _flow_series(self, stats, lo, hi, attrs) -> dict:
        if attrs.get("interval") != "daily":
            raise filters.FilterError("this sandbox serves interval 'daily' only")
        if hi - lo > timedelta(days=60):
            raise filters.FilterError("with interval 'daily' the timeframe cannot be longer than 60 days")
        days: list[datetime] = []
        d = lo
        while d < hi:
            days.append(d)
            d += timedelta(days=1)
        per_day = [self._flow_counts(d, min(d + timedelta(days=1), hi)) for d in days]
        keys = sorted({k for day in per_day for k in day})
        results = []
        for f, m in keys:
            series = [self._stats(day.get((f, m), {}), stats) for day in per_day]
            results.append(
                {
                    "groupings": {"flow_id": f, "send_channel": "email", "flow_message_id": m},
                    "statistics": {s: [v[s] for v in series] for s in stats},
                }
            )
        return {"results": results, "date_times": [d.isoformat() for d in days]}  # account-local days

    async def campaign_values(self, request: Request) -> Response:
        return await self._report(request, "campaign-values-report", self._campaign_results)

    async def flow_values(self, request: Request) -> Response:
        return await self._report(request, "flow-values-report", self._flow_values)

    async def flow_series(self, request: Request) -> Response:
        return await self._report(request, "flow-series-report", self._flow_series)
