"""A local Customer.io: the App API (reporting), the Track and Pipelines APIs (activation) on one prefix.

Mounted by the sandbox under ``/customerio``; each host is a sub-app: ``/customerio/app`` is
``api.customer.io``, ``/customerio/track`` is ``track.customer.io`` and ``/customerio/cdp/v1``
is ``cdp.customer.io/v1``. App data comes from
``CustomerIoWorkspace`` (derived from the sandbox brand). The Track side keeps what it receives
(people, events de-duplicated by id, suppressions, deletions, Pipelines batches) for tests and the demo to read.
Error bodies are ``{"meta": {"error": ...}}`` (assumed: the specs describe 401/400/429 without a body).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from marketing_pipeline.sandbox import credentials
from marketing_pipeline.sandbox.customerio import cart_flow
from marketing_pipeline.sandbox.customerio.app_actions import action_routes
from marketing_pipeline.sandbox.customerio.data import CustomerIoWorkspace
from marketing_pipeline.sandbox.world import World

APP_API_KEY = credentials.CUSTOMERIO_APP_API_KEY
SITE_ID = credentials.CUSTOMERIO_SITE_ID
TRACK_API_KEY = credentials.CUSTOMERIO_TRACK_API_KEY
PIPELINES_API_KEY = credentials.CUSTOMERIO_PIPELINES_API_KEY
PIPELINES_MAX_MESSAGE, PIPELINES_MAX_BATCH = 32 * 1024, 500 * 1024
MAX_MESSAGES_LIMIT = 1000
MAX_MESSAGES_WINDOW = 183 * 86400  # GET /v1/messages is limited to 6-month windows
V1_MAX_DAY_STEPS = 45
APP_RATE_PER_SECOND = 10
ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
TRACK_MAX_ID_BYTES, TRACK_MAX_VALUE_BYTES, TRACK_MAX_ATTRIBUTES = 150, 1000, 300


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"meta": {"error": message}}, status_code=status)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    if kind != "o" or not value.isdigit():
        raise ValueError(cursor)
    return int(value)


class CustomerIoEmulator:
    def __init__(self, world: World):
        self.world = world
        self.workspace = CustomerIoWorkspace(world)
        self.requests = 0
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()
        # what the Track API has received
        self.people: dict[str, dict] = {}
        self.events: dict[str, dict] = {}  # by event id (ULID): a repeated id is not processed again
        self.anonymous_id_events: list[dict] = []  # events sent without an id
        self.event_posts = 0
        self.identify_posts = 0
        self.suppressed: set[str] = set()
        self.suppressed_at: dict[str, datetime] = {}
        # the workspace's "now" (its abandoned-cart campaign sends what is due by then); tests move it
        self.clock = lambda: datetime.now(UTC)
        self.deleted: list[str] = []
        # what the Pipelines API has received (oversize calls are answered 200 and dropped, as documented)
        self.pipelines_messages: list[dict] = []
        self.pipelines_dropped = 0
        self.pipelines_aliases: list[dict] = []

    def app(self) -> Starlette:
        app_api = Starlette(
            routes=[
                Route("/v1/campaigns", self.campaigns, methods=["GET"]),
                Route("/v1/campaigns/{object_id:int}/metrics", self.campaign_metrics, methods=["GET"]),
                Route("/v1/broadcasts", self.broadcasts, methods=["GET"]),
                Route("/v1/broadcasts/{object_id:int}/metrics", self.v1_metrics, methods=["GET"]),
                Route("/v1/newsletters", self.newsletters, methods=["GET"]),
                Route("/v1/newsletters/{object_id:int}/metrics", self.v1_metrics, methods=["GET"]),
                Route("/v1/messages", self.messages, methods=["GET"]),
                *action_routes(self),
            ]
        )
        track_api = Starlette(
            routes=[
                Route("/api/v1/customers/{identifier}", self.identify, methods=["PUT"]),
                Route("/api/v1/customers/{identifier}", self.delete_person, methods=["DELETE"]),
                Route("/api/v1/customers/{identifier}/events", self.track_event, methods=["POST"]),
                Route("/api/v1/customers/{identifier}/suppress", self.suppress, methods=["POST"]),
                Route("/api/v1/customers/{identifier}/unsuppress", self.unsuppress, methods=["POST"]),
            ]
        )
        pipelines_api = Starlette(
            routes=[
                Route("/v1/batch", self.pipelines_batch, methods=["POST"]),
                Route("/v1/alias", self.pipelines_alias, methods=["POST"]),
                *(
                    Route(f"/v1/{kind}", self._pipelines_single(kind), methods=["POST"])
                    for kind in ("identify", "track", "page", "screen", "group")
                ),
            ]
        )
        return Starlette(
            routes=[
                Mount("/app", app=app_api),
                Mount("/track", app=track_api),
                Mount("/cdp", app=pipelines_api),
            ]
        )

    # -- App API: auth and the 10 requests/s limit -------------------------------------------
    def forget_recent_requests(self) -> None:
        """Start a fresh rate-limit second (tests that call the App API raw, without retries)."""
        with self._lock:
            self._recent.clear()

    def _app_check(self, request: Request) -> JSONResponse | None:
        self.requests += 1
        if request.headers.get("authorization") != f"Bearer {APP_API_KEY}":
            return error(401, "Unauthorized request: provide a valid App API key as a Bearer token")
        with self._lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= APP_RATE_PER_SECOND:
                return error(429, "Your request is over the 10-per-second limit.")
            self._recent.append(now)
        return None

    async def campaigns(self, request: Request) -> JSONResponse:
        return self._app_check(request) or JSONResponse({"campaigns": self.workspace.campaigns()})

    async def broadcasts(self, request: Request) -> JSONResponse:
        return self._app_check(request) or JSONResponse({"broadcasts": self.workspace.broadcasts()})

    async def newsletters(self, request: Request) -> JSONResponse:
        if err := self._app_check(request):
            return err
        q = request.query_params
        try:
            limit = int(q.get("limit", "50"))
            offset = _offset(q.get("start"))
        except ValueError:
            return error(400, "limit must be an integer and start a cursor from a previous 'next'")
        items = self.workspace.newsletters()
        if q.get("sort", "desc") == "desc":
            items.reverse()
        nxt = offset + limit
        return JSONResponse(
            {"newsletters": items[offset:nxt], "next": _cursor(nxt) if nxt < len(items) else ""}
        )

    async def campaign_metrics(self, request: Request) -> JSONResponse:
        if err := self._app_check(request):
            return err
        q = request.query_params
        cid = request.path_params["object_id"]
        if cid not in {c["id"] for c in self.workspace.campaigns()}:
            return error(404, f"campaign {cid} not found")
        if q.get("version") not in ("1", "2"):
            return error(400, "version is required: '1' or '2'")
        if q.get("version") == "1":
            return error(400, "this sandbox serves campaign metrics in version 2 only")
        if q.get("res", "days") not in ("days", "daily"):
            return error(400, "this sandbox serves res=days only")
        try:
            tz = ZoneInfo(q.get("tz") or "America/New_York")  # the API's default is EST
            start, end = int(q["start"]), int(q["end"])
        except (KeyError, ValueError, ZoneInfoNotFoundError):
            return error(400, "start and end must be Unix timestamps and tz a region name")
        if end <= start:
            return error(400, "end must be after start")
        windows = []
        day = datetime.fromtimestamp(start, tz).date()
        while True:
            lo = int(datetime.combine(day, datetime.min.time(), tzinfo=tz).timestamp())
            if lo >= end:
                break
            windows.append(
                (
                    max(lo, start),
                    min(
                        int(
                            datetime.combine(
                                day + timedelta(days=1), datetime.min.time(), tzinfo=tz
                            ).timestamp()
                        ),
                        end,
                    ),
                )
            )
            day += timedelta(days=1)
        series = self.workspace.daily_counts("campaign_id", cid, windows)
        return JSONResponse({"metric": {"series": series}})

    async def v1_metrics(self, request: Request) -> JSONResponse:
        if err := self._app_check(request):
            return err
        kind = request.url.path.rstrip("/").split("/")[-3]
        oid = request.path_params["object_id"]
        known = (
            {n["id"] for n in self.workspace.newsletters()}
            if kind == "newsletters"
            else {b["id"] for b in self.workspace.broadcasts()}
        )
        if oid not in known:
            return error(404, f"{kind[:-1]} {oid} not found")
        q = request.query_params
        if q.get("period", "days") != "days":
            return error(400, "this sandbox serves period=days only")
        try:
            steps = int(q.get("steps", str(V1_MAX_DAY_STEPS)))
        except ValueError:
            return error(400, "steps must be an integer")
        if not 1 <= steps <= V1_MAX_DAY_STEPS:
            return error(400, f"steps must be 1..{V1_MAX_DAY_STEPS} for period=days")
        today = self.world.today  # version 1 counts UTC days ending today
        windows = []
        for i in range(steps - 1, -1, -1):
            day = today - timedelta(days=i)
            lo = int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp())
            windows.append((lo, lo + 86400))
        key = "newsletter_id" if kind == "newsletters" else "broadcast_id"
        return JSONResponse({"metric": {"series": self.workspace.daily_counts(key, oid, windows)}})

    async def messages(self, request: Request) -> JSONResponse:
        if err := self._app_check(request):
            return err
        q = request.query_params
        try:
            limit = int(q.get("limit", "50"))
            offset = _offset(q.get("start"))
            end_ts = int(q.get("end_ts") or int(time.time()))
            start_ts = int(q.get("start_ts") or end_ts - MAX_MESSAGES_WINDOW)
        except ValueError:
            return error(400, "limit, start_ts and end_ts must be integers and start a cursor from 'next'")
        if not 1 <= limit <= MAX_MESSAGES_LIMIT:
            return error(400, f"limit must be 1..{MAX_MESSAGES_LIMIT}")
        if end_ts - start_ts > MAX_MESSAGES_WINDOW:
            return error(400, "start_ts and end_ts may be at most 6 months apart")
        if q.get("type") not in (None, "email"):
            found = []
        else:
            found = self.workspace.deliveries_between(
                datetime.fromtimestamp(start_ts, UTC), datetime.fromtimestamp(end_ts, UTC)
            )
            flow = [d for d in self.cart_flow_deliveries() if start_ts <= d.created < end_ts]
            if flow:
                found = sorted([*found, *flow], key=lambda d: (d.created, d.id))
        for key in ("campaign_id", "newsletter_id"):
            if q.get(key):
                found = [d for d in found if str(getattr(d, key)) == q[key]]
        if q.get("metric"):
            found = [d for d in found if q["metric"] in d.metrics]
        page = found[offset : offset + limit]
        nxt = offset + limit
        return JSONResponse(
            {"messages": [d.json() for d in page], "next": _cursor(nxt) if nxt < len(found) else ""}
        )

    def cart_flow_deliveries(self) -> list[cart_flow.FlowDelivery]:
        """What the workspace's abandoned-cart campaign has sent by now."""
        track = [*self.events.values(), *self.anonymous_id_events]
        return cart_flow.deliveries(self.pipelines_messages, track, self.suppressed_at, self.clock())

    # -- Track API -------------------------------------------------------------------------
    def _track_check(self, request: Request) -> JSONResponse | None:
        self.requests += 1
        expected = "Basic " + base64.b64encode(f"{SITE_ID}:{TRACK_API_KEY}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return error(401, "Unauthorized request. Make sure that you provided the right credentials.")
        ident = request.path_params.get("identifier", "")
        if not ident or len(ident.encode()) > TRACK_MAX_ID_BYTES:
            return error(400, f"identifier must be 1..{TRACK_MAX_ID_BYTES} bytes")
        return None

    async def _json_object(self, request: Request) -> dict | JSONResponse:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return error(400, "request body is not valid JSON")
        return body if isinstance(body, dict) else error(400, "request body must be a JSON object")

    async def identify(self, request: Request) -> JSONResponse:
        if err := self._track_check(request):
            return err
        body = await self._json_object(request)
        if isinstance(body, JSONResponse):
            return body
        if len(body) > TRACK_MAX_ATTRIBUTES:
            return error(400, f"at most {TRACK_MAX_ATTRIBUTES} attributes per request")
        for name, value in body.items():
            if (
                len(name.encode()) > TRACK_MAX_ID_BYTES
                or len(json.dumps(value).encode()) > TRACK_MAX_VALUE_BYTES
            ):
                return error(400, f"attribute {name[:40]!r}: names are at most 150 bytes, values 1000 bytes")
        ident = request.path_params["identifier"]
        if ident in self.suppressed:
            return JSONResponse({})  # a suppressed person is not re-added
        self.identify_posts += 1
        self.people.setdefault(ident, {}).update(body)
        return JSONResponse({})

    async def track_event(self, request: Request) -> JSONResponse:
        if err := self._track_check(request):
            return err
        body = await self._json_object(request)
        if isinstance(body, JSONResponse):
            return body
        if not isinstance(body.get("name"), str) or not body["name"]:
            return error(400, "event name is required")
        event_id = body.get("id")
        if event_id is not None and not (isinstance(event_id, str) and ULID_RE.match(event_id)):
            return error(400, "event id must be a ULID")
        self.event_posts += 1
        record = {**body, "customer": request.path_params["identifier"]}
        if event_id is None:
            self.anonymous_id_events.append(record)
        else:
            self.events.setdefault(event_id, record)
        return JSONResponse({})

    async def suppress(self, request: Request) -> JSONResponse:
        if err := self._track_check(request):
            return err
        ident = request.path_params["identifier"]
        self.suppressed.add(ident)
        self.suppressed_at.setdefault(ident, self.clock())
        self.people.pop(ident, None)
        return JSONResponse({})

    async def unsuppress(self, request: Request) -> JSONResponse:
        if err := self._track_check(request):
            return err
        self.suppressed.discard(request.path_params["identifier"])
        self.suppressed_at.pop(request.path_params["identifier"], None)
        return JSONResponse({})

    async def delete_person(self, request: Request) -> JSONResponse:
        if err := self._track_check(request):
            return err
        ident = request.path_params["identifier"]
        self.people.pop(ident, None)
        self.deleted.append(ident)
        return JSONResponse({})

    # -- Pipelines API ---------------------------------------------------------------------
    def _pipelines_check(self, request: Request) -> JSONResponse | None:
        self.requests += 1
        expected = "Basic " + base64.b64encode(f"{PIPELINES_API_KEY}:".encode()).decode()
        if request.headers.get("authorization") != expected:
            return error(401, "Unauthorized: use the source API key as the Basic user name")
        return None

    async def pipelines_alias(self, request: Request) -> JSONResponse:
        if err := self._pipelines_check(request):
            return err
        body = await self._json_object(request)
        if isinstance(body, JSONResponse):
            return body
        missing = [k for k in ("previousId", "userId") if not isinstance(body.get(k), str) or not body[k]]
        if missing:
            return error(400, f"alias needs {' and '.join(missing)}")
        self.pipelines_aliases.append(body)
        return JSONResponse({})

    def _pipelines_single(self, kind: str):
        """``POST /<kind>``: one call, checked as a batch item of that type (the path sets the type)."""

        async def endpoint(request: Request) -> JSONResponse:
            if err := self._pipelines_check(request):
                return err
            body = await self._json_object(request)
            if isinstance(body, JSONResponse):
                return body
            if body.get("type", kind) != kind:
                return error(400, f"type must be {kind!r} on /{kind}")
            message = {**body, "type": kind}
            if problem := _batch_message_problem(message):
                return error(400, problem)
            if len(json.dumps(message, separators=(",", ":")).encode()) > PIPELINES_MAX_MESSAGE:
                self.pipelines_dropped += 1
            else:
                self.pipelines_messages.append(message)
            return JSONResponse({})

        return endpoint

    async def pipelines_batch(self, request: Request) -> JSONResponse:
        if err := self._pipelines_check(request):
            return err
        raw = await request.body()
        if len(raw) > PIPELINES_MAX_BATCH:
            self.pipelines_dropped += 1
            return JSONResponse({})
        try:
            body = json.loads(raw)
        except ValueError:
            return error(400, "request body is not valid JSON")
        batch = body.get("batch") if isinstance(body, dict) else None
        if not isinstance(batch, list):
            return error(400, "body must be an object with a 'batch' array")
        for i, message in enumerate(batch):
            if problem := _batch_message_problem(message):
                return error(400, f"batch[{i}]: {problem}")
        for message in batch:
            if len(json.dumps(message, separators=(",", ":")).encode()) > PIPELINES_MAX_MESSAGE:
                self.pipelines_dropped += 1
            else:
                self.pipelines_messages.append(message)
        return JSONResponse({})


def _batch_message_problem(message: object) -> str | None:
    """The spec's batch item: identify | track | page | screen | group, by a userId or an anonymousId."""
    if not isinstance(message, dict):
        return "must be an object"
    kind = message.get("type")
    if kind not in ("identify", "track", "page", "screen", "group"):
        return f"type {kind!r} is not identify, track, page, screen or group"
    if not (message.get("userId") or message.get("anonymousId")):
        return "needs userId or anonymousId"
    if kind == "track" and not message.get("event"):
        return "track needs event"
    if kind == "group" and not message.get("groupId"):
        return "group needs groupId"
    return None
