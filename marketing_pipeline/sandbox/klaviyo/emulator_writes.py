"""Klaviyo's write endpoints in the sandbox: bulk profile import jobs, events, lists, subscriptions.

State lives on the emulator (``emulator.writes``, a ``KlaviyoWrites``) so tests and the demo can
read what the pipeline sent. Behaviour follows the spec's operation texts:

- ``POST /api/profile-bulk-import-jobs`` is asynchronous: a job is ``queued``, then ``processing``,
  then ``complete`` on subsequent GETs; profiles are applied when it completes; a profile with an
  invalid email becomes an import error (with its original payload). Up to 10,000 profiles and
  5 MB per request, 100 KB per profile.
- ``POST /api/events`` answers 202 with no body; an event whose ``unique_id`` repeats for the same
  profile and metric is dropped ("only the first processed event will be recorded").
  ``POST /api/event-bulk-create-jobs`` takes up to 1,000 events grouped by profile, all or none.
- List membership writes take profile ids, at most 1,000 per call, and answer 204.
- Subscription bulk jobs (max 1,000 per call) answer 202. The spec says subscribing lifts
  ``UNSUBSCRIBE``, ``SPAM_REPORT`` and ``USER_SUPPRESSED`` suppressions; hard bounces and invalid
  emails stay suppressed and the subscription is ignored. Every lift is kept in ``resubscribed``
  so tests can prove the pipeline never asks for one.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from marketing_pipeline.sandbox.klaviyo.limits import JSONAPI

MAX_IMPORT_PROFILES = 10_000
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_PROFILE_BYTES = 100 * 1024
MAX_LIST_MEMBERS_PER_CALL = 1000
MAX_SUBSCRIBE_PER_CALL = 1000
MAX_UNSUBSCRIBE_PER_CALL = 100
MAX_BULK_EVENTS = 1000
LIFTED_BY_SUBSCRIBE = {"UNSUBSCRIBE", "SPAM_REPORT", "USER_SUPPRESSED"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + request.scope.get("root_path", "")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _profile_id() -> str:
    n = uuid.uuid4().int
    return "01" + "".join(_ALPHABET[(n >> (5 * i)) & 31] for i in range(24))


def _list_id() -> str:
    return uuid.uuid4().hex[:6]


@dataclass
class ImportJob:
    id: str
    profiles: list[dict]
    list_ids: list[str]
    created_at: str
    polls: int = 0
    status: str = "queued"
    started_at: str | None = None
    completed_at: str | None = None
    profile_ids: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


@dataclass
class KlaviyoWrites:
    """Everything the write endpoints received and what Klaviyo would now hold."""

    profiles: dict[str, dict] = field(default_factory=dict)  # id -> attributes
    by_email: dict[str, str] = field(default_factory=dict)  # lower(email) -> id
    suppressed: dict[str, str] = field(default_factory=dict)  # lower(email) -> suppression reason
    subscribed: dict[str, str] = field(default_factory=dict)  # lower(email) -> consented_at / received time
    resubscribed: list[str] = field(default_factory=list)  # emails whose suppression a subscribe lifted
    ignored_subscriptions: list[str] = field(default_factory=list)  # hard-bounced etc.: left suppressed
    jobs: dict[str, ImportJob] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    duplicate_events: int = 0
    bulk_event_jobs: int = 0
    event_keys: set[tuple[str, str, str]] = field(default_factory=set)  # (profile id, metric, unique_id)
    lists: dict[str, dict] = field(default_factory=dict)  # id -> {name, created, updated, members}
    subscription_jobs: list[dict] = field(default_factory=list)
    unsubscription_jobs: list[dict] = field(default_factory=list)
    requests: list[tuple[str, str, object]] = field(default_factory=list)  # (method, route name, json body)
    # The sandbox account's existing profiles (from the read emulator): email -> (profile id, suppression)
    world_loader: object = None  # () -> {email: (profile id, suppression reason or None)}, read once
    _world: object = None  # anything with .get(email, default)
    # the account's "now": profile times, suppression times, which flow emails are due (tests move it)
    clock: object = field(default=lambda: datetime.now(UTC))
    suppressed_at: dict[str, datetime] = field(default_factory=dict)  # lower(email) -> when

    def world_profile(self, email: str) -> tuple[str | None, str | None]:
        if self._world is None:
            self._world = self.world_loader() if self.world_loader else {}
        return self._world.get(email, (None, None))

    def reset(self) -> None:
        """Forget everything written (tests share one sandbox and start each from a clean account)."""
        loader, world = self.world_loader, self._world
        self.__init__()
        self.world_loader, self._world = loader, world

    def suppression_of(self, email: str) -> str | None:
        email = email.strip().lower()
        if email in self.suppressed:
            return self.suppressed[email]
        if email in self.subscribed:
            return None
        return self.world_profile(email)[1]

    def suppress(self, email: str, reason: str = "UNSUBSCRIBE") -> None:
        """Mark an email suppressed in Klaviyo (as an unsubscribe or bounce would)."""
        email = email.strip().lower()
        self.suppressed[email] = reason
        self.suppressed_at.setdefault(email, self.clock())
        self.subscribed.pop(email, None)

    def members(self, name: str) -> set[str]:
        """Emails in the list called ``name`` (empty when there is no such list)."""
        for lst in self.lists.values():
            if lst["name"] == name:
                return {self.profiles[p].get("email") for p in lst["members"]}
        return set()

    def delete_profile(self, pid: str) -> None:
        """A profile deleted in Klaviyo (e.g. a data-privacy deletion): gone from lists too."""
        attrs = self.profiles.pop(pid)
        self.by_email.pop((attrs.get("email") or "").strip().lower(), None)
        for lst in self.lists.values():
            lst["members"].pop(pid, None)

    def upsert_profile(self, attributes: dict) -> str:
        email = (attributes.get("email") or "").strip().lower()
        pid = self.by_email.get(email) if email else None
        if pid is None:
            pid = (self.world_profile(email)[0] if email else None) or _profile_id()
            self.profiles[pid] = {"created": self.clock().isoformat()}
            if email:
                self.by_email[email] = pid
        current = self.profiles[pid]
        for key, value in attributes.items():
            if value is None:
                current.pop(key, None)  # null clears a field
            elif key == "properties" and isinstance(value, dict):
                current.setdefault("properties", {}).update(value)
            else:
                current[key] = value
        current["updated"] = self.clock().isoformat()
        return pid


def _error(
    status: int, code: str, detail: str, pointer: str | None = None, title: str | None = None
) -> JSONResponse:
    err = {
        "id": str(uuid.uuid4()),
        "status": status,
        "code": code,
        "title": title or ("Invalid input." if status == 400 else "Error."),
        "detail": detail,
    }
    if pointer:
        err["source"] = {"pointer": pointer}
    return JSONResponse({"errors": [err]}, status_code=status, media_type=JSONAPI)


def _doc(body: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=JSONAPI)


def _page(request: Request, items: list[dict], default: int = 20, maximum: int = 100) -> dict | JSONResponse:
    """One page of ``items`` with JSON:API ``links`` (cursor = base64 offset)."""
    q = request.query_params
    try:
        size = int(q.get("page[size]", default))
        offset = (
            int(base64.urlsafe_b64decode(q["page[cursor]"].encode()).decode()) if q.get("page[cursor]") else 0
        )
    except ValueError:
        return _error(400, "invalid", "page[size] and page[cursor] must be valid", title="Invalid input.")
    if not 1 <= size <= maximum:
        return _error(400, "invalid", f"page[size] must be between 1 and {maximum}.")
    links = {"self": str(request.url)}
    if offset + size < len(items):
        cursor = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        links["next"] = str(request.url.include_query_params(**{"page[cursor]": cursor}))
    return {"data": items[offset : offset + size], "links": links}


async def _body(request: Request) -> tuple[object, JSONResponse | None]:
    raw = await request.body()
    try:
        return json.loads(raw or b"null"), None
    except ValueError:
        return None, _error(400, "invalid", "The request body is not valid JSON.")


def _type_error(body: object, expected: str) -> JSONResponse | None:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("type") != expected:
        return _error(400, "invalid", f"data.type must be '{expected}'.", pointer="/data/type")
    if not isinstance(data.get("attributes"), dict):
        return _error(400, "invalid", "data.attributes is required.", pointer="/data/attributes")
    return None


def write_routes(emulator) -> list[Route]:
    """The write routes, with their state on ``emulator.writes``; checks keys via ``emulator.check``."""
    state: KlaviyoWrites = getattr(emulator, "writes", None) or KlaviyoWrites()
    emulator.writes = state
    data = getattr(emulator, "data", None)
    if data is not None and state.world_loader is None:
        state.world_loader = lambda: _WorldProfiles(data)

    def guarded(name: str, handler):
        async def endpoint(request: Request) -> Response:
            check = getattr(emulator, "check", None)
            if check is not None:
                refused = check(request)
                if inspect.isawaitable(refused):
                    refused = await refused
                if refused is not None:
                    return refused
            body = None
            if request.method in ("POST", "DELETE", "PATCH"):
                body, bad = await _body(request)
                if bad:
                    return bad
                state.requests.append((request.method, name, body))
            return await handler(request, body)

        return endpoint

    # -- bulk profile import -------------------------------------------------------------
    async def create_import_job(request: Request, body) -> Response:
        raw_size = len(await request.body())
        if raw_size > MAX_IMPORT_BYTES:
            return _error(413, "payload_too_large", f"The payload is {raw_size} bytes; the maximum is 5MB.")
        if bad := _type_error(body, "profile-bulk-import-job"):
            return bad
        profiles = (body["data"]["attributes"].get("profiles") or {}).get("data")
        if not isinstance(profiles, list) or not profiles:
            return _error(
                400,
                "invalid",
                "attributes.profiles.data must list at least one profile.",
                pointer="/data/attributes/profiles/data",
            )
        if len(profiles) > MAX_IMPORT_PROFILES:
            return _error(
                400,
                "invalid",
                f"A job accepts up to {MAX_IMPORT_PROFILES} profiles; got {len(profiles)}.",
                pointer="/data/attributes/profiles/data",
            )
        lists = [
            r.get("id")
            for r in ((body["data"].get("relationships") or {}).get("lists") or {}).get("data") or []
        ]
        job = ImportJob(id=uuid.uuid4().hex, profiles=profiles, list_ids=lists, created_at=_now())
        state.jobs[job.id] = job
        return _doc({"data": _job_json(request, job)}, status=202)

    def _process(job: ImportJob) -> None:
        for i, profile in enumerate(job.profiles):
            attrs = profile.get("attributes") if isinstance(profile, dict) else None
            pointer = f"/data/attributes/profiles/data/{i}"
            problem = None
            if not isinstance(attrs, dict) or profile.get("type") != "profile":
                problem = ("invalid", "Each profile needs type 'profile' and attributes.", pointer)
            elif len(json.dumps(profile)) > MAX_PROFILE_BYTES:
                problem = ("invalid", "The profile payload exceeds 100KB.", pointer)
            elif not any(attrs.get(k) for k in ("email", "phone_number", "external_id")):
                problem = (
                    "invalid",
                    "A profile needs an email, phone_number or external_id.",
                    pointer + "/attributes",
                )
            elif attrs.get("email") is not None and not EMAIL.match(str(attrs["email"])):
                problem = (
                    "invalid",
                    f"Invalid email address: {attrs['email']!r}.",
                    pointer + "/attributes/email",
                )
            if problem:
                code, detail, where = problem
                job.errors.append(
                    {
                        "type": "import-error",
                        "id": str(uuid.uuid4()),
                        "attributes": {
                            "code": code,
                            "title": "Invalid input.",
                            "detail": detail,
                            "source": {"pointer": where},
                            "original_payload": profile if isinstance(profile, dict) else None,
                        },
                    }
                )
                continue
            pid = state.upsert_profile(attrs)
            job.profile_ids.append(pid)
            for list_id in job.list_ids:
                if list_id in state.lists:
                    state.lists[list_id]["members"].setdefault(pid, None)

    async def get_import_job(request: Request, _body) -> Response:
        job = state.jobs.get(request.path_params["job_id"])
        if job is None:
            return _error(404, "not_found", "Profile bulk import job not found.", title="Not found.")
        job.polls += 1
        if job.status == "queued":
            job.status, job.started_at = "processing", _now()
        elif job.status == "processing":
            _process(job)
            job.status, job.completed_at = "complete", _now()
        return _doc({"data": _job_json(request, job), "links": {"self": str(request.url)}})

    async def import_errors(request: Request, _body) -> Response:
        job = state.jobs.get(request.path_params["id"])
        if job is None:
            return _error(404, "not_found", "Profile bulk import job not found.", title="Not found.")
        page = _page(request, job.errors if job.status == "complete" else [])
        return page if isinstance(page, Response) else _doc(page)

    async def import_profiles(request: Request, _body) -> Response:
        job = state.jobs.get(request.path_params["id"])
        if job is None:
            return _error(404, "not_found", "Profile bulk import job not found.", title="Not found.")
        # Page the ids, then build only that page's profiles (a job holds up to 10,000).
        page = _page(request, job.profile_ids if job.status == "complete" else [])
        if isinstance(page, Response):
            return page
        return _doc({**page, "data": [_profile_json(request, pid) for pid in page["data"]]})

    def _profile_json(request: Request, pid: str) -> dict:
        attrs = {k: v for k, v in state.profiles[pid].items()}
        return {
            "type": "profile",
            "id": pid,
            "attributes": attrs,
            "links": {"self": f"{_base(request)}/api/profiles/{pid}/"},
        }

    # -- events -----------------------------------------------------------------------------
    def _event_problem(attrs: dict, profile: dict, pointer: str) -> JSONResponse | None:
        metric = ((attrs.get("metric") or {}).get("data") or {}).get("attributes", {}).get("name")
        if not metric:
            return _error(
                400,
                "invalid",
                "metric.data.attributes.name is required.",
                pointer=f"{pointer}/metric/data/attributes/name",
            )
        if not isinstance(attrs.get("properties"), dict):
            return _error(400, "invalid", "properties is required.", pointer=f"{pointer}/properties")
        if not any(profile.get(k) for k in ("email", "phone_number", "external_id")):
            return _error(
                400,
                "invalid",
                "The profile needs an identifier (email, phone_number or external_id).",
                pointer=f"{pointer}/profile/data/attributes",
            )
        if profile.get("email") and not EMAIL.match(profile["email"]):
            return _error(
                400,
                "invalid",
                f"Invalid email address: {profile['email']!r}.",
                pointer=f"{pointer}/profile/data/attributes/email",
            )
        return None

    def _keep_event(attrs: dict, profile: dict) -> None:
        metric = attrs["metric"]["data"]["attributes"]["name"]
        pid = state.upsert_profile(profile)
        unique_id = attrs.get("unique_id")
        if unique_id and (pid, metric, unique_id) in state.event_keys:
            state.duplicate_events += 1
            return
        if unique_id:
            state.event_keys.add((pid, metric, unique_id))
        state.events.append(
            {
                "profile_id": pid,
                "email": (profile.get("email") or "").lower(),
                "metric": metric,
                "unique_id": unique_id,
                "time": attrs.get("time"),
                "value": attrs.get("value"),
                "backfill": bool(attrs.get("backfill")),
                "properties": attrs["properties"],
            }
        )

    async def create_event(request: Request, body) -> Response:
        if bad := _type_error(body, "event"):
            return bad
        attrs = body["data"]["attributes"]
        profile = ((attrs.get("profile") or {}).get("data") or {}).get("attributes") or {}
        if bad := _event_problem(attrs, profile, "/data/attributes"):
            return bad
        _keep_event(attrs, profile)
        return Response(status_code=202)

    async def bulk_create_events(request: Request, body) -> Response:
        """All or nothing, as the spec's one job: every entry is checked before any is kept."""
        if bad := _type_error(body, "event-bulk-create-job"):
            return bad
        entries = ((body["data"]["attributes"].get("events-bulk-create") or {}).get("data")) or []
        if not isinstance(entries, list) or not entries:
            return _error(400, "invalid", "events-bulk-create.data is required.")
        pairs = []
        for i, entry in enumerate(entries):
            where = f"/data/attributes/events-bulk-create/data/{i}/attributes"
            if not isinstance(entry, dict) or entry.get("type") != "event-bulk-create":
                return _error(400, "invalid", "type must be 'event-bulk-create'.", pointer=where)
            eattrs = entry.get("attributes") or {}
            profile = ((eattrs.get("profile") or {}).get("data") or {}).get("attributes") or {}
            for event in ((eattrs.get("events") or {}).get("data")) or []:
                attrs = (event or {}).get("attributes") or {}
                if bad := _event_problem({**attrs, "profile": eattrs.get("profile")}, profile, where):
                    return bad
                pairs.append((attrs, profile))
        if len(pairs) > MAX_BULK_EVENTS:
            return _error(400, "invalid", f"{len(pairs)} events in one request; at most {MAX_BULK_EVENTS}.")
        for attrs, profile in pairs:
            _keep_event(attrs, profile)
        state.bulk_event_jobs += 1
        return Response(status_code=202)

    # -- lists ------------------------------------------------------------------------------
    def _list_json(request: Request, list_id: str) -> dict:
        lst = state.lists[list_id]
        return {
            "type": "list",
            "id": list_id,
            "attributes": {
                "name": lst["name"],
                "created": lst["created"],
                "updated": lst["updated"],
                "opt_in_process": lst["opt_in_process"],
            },
            "links": {"self": f"{_base(request)}/api/lists/{list_id}/"},
        }

    async def get_lists(request: Request, _body) -> Response:
        # The account's existing lists (served by the read emulator) come first, then those created here.
        base = _base(request)
        group_json = getattr(emulator, "_group_json", None)
        existing = (
            [group_json("list", g, base, False) for g in data.lists]
            if data is not None and group_json
            else []
        )
        items = existing + [_list_json(request, i) for i in state.lists]
        flt = request.query_params.get("filter", "")
        if m := re.fullmatch(r"equals\(name,'(.*)'\)", flt):
            items = [i for i in items if i["attributes"]["name"] == m.group(1)]
        elif flt:
            return _error(400, "invalid", f"Unsupported filter {flt!r}.", title="Invalid input.")
        page = _page(request, items, default=10, maximum=10)
        return page if isinstance(page, Response) else _doc(page)

    async def create_list(request: Request, body) -> Response:
        if bad := _type_error(body, "list"):
            return bad
        attrs = body["data"]["attributes"]
        if not attrs.get("name"):
            return _error(400, "invalid", "name is required.", pointer="/data/attributes/name")
        list_id = _list_id()
        state.lists[list_id] = {
            "name": attrs["name"],
            "created": _now(),
            "updated": _now(),
            "opt_in_process": attrs.get("opt_in_process") or "single_opt_in",
            "members": {},
        }
        return _doc({"data": _list_json(request, list_id), "links": {"self": str(request.url)}}, status=201)

    async def list_members(request: Request, body) -> Response:
        lst = state.lists.get(request.path_params["id"])
        if lst is None:
            return _error(404, "not_found", "A list with the given id was not found.", title="Not found.")
        if request.method == "GET":
            page = _page(request, [{"type": "profile", "id": pid} for pid in lst["members"]])
            return page if isinstance(page, Response) else _doc(page)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not all(
            isinstance(r, dict) and r.get("type") == "profile" and r.get("id") for r in data
        ):
            return _error(400, "invalid", "data must list {type: 'profile', id} objects.", pointer="/data")
        if len(data) > MAX_LIST_MEMBERS_PER_CALL:
            return _error(
                400,
                "invalid",
                f"At most {MAX_LIST_MEMBERS_PER_CALL} profiles per call; got {len(data)}.",
                pointer="/data",
            )
        unknown = [r["id"] for r in data if r["id"] not in state.profiles]
        if unknown and request.method == "POST":
            return _error(404, "not_found", f"Profiles not found: {unknown[:5]}.", title="Not found.")
        for ref in data:
            if request.method == "POST":
                lst["members"].setdefault(ref["id"], None)
            else:
                lst["members"].pop(ref["id"], None)
        lst["updated"] = _now()
        return Response(status_code=204)

    # -- subscriptions ------------------------------------------------------------------------
    async def subscribe(request: Request, body) -> Response:
        if bad := _type_error(body, "profile-subscription-bulk-create-job"):
            return bad
        attrs = body["data"]["attributes"]
        profiles = (attrs.get("profiles") or {}).get("data")
        if not isinstance(profiles, list) or not profiles:
            return _error(
                400,
                "invalid",
                "profiles.data must list at least one profile.",
                pointer="/data/attributes/profiles/data",
            )
        if len(profiles) > MAX_SUBSCRIBE_PER_CALL:
            return _error(
                400,
                "invalid",
                f"At most {MAX_SUBSCRIBE_PER_CALL} profiles per call; got {len(profiles)}.",
                pointer="/data/attributes/profiles/data",
            )
        historical = bool(attrs.get("historical_import"))
        for i, p in enumerate(profiles):
            pa = (p or {}).get("attributes") or {}
            marketing = ((pa.get("subscriptions") or {}).get("email") or {}).get("marketing") or {}
            if not pa.get("email") or marketing.get("consent") != "SUBSCRIBED":
                return _error(
                    400,
                    "invalid",
                    "Each profile needs an email and subscriptions.email.marketing.consent = SUBSCRIBED.",
                    pointer=f"/data/attributes/profiles/data/{i}/attributes",
                )
            if marketing.get("consented_at") and not historical:
                return _error(
                    400,
                    "invalid",
                    "consented_at is only allowed with historical_import.",
                    pointer=f"/data/attributes/profiles/data/{i}/attributes/subscriptions",
                )
            if historical and not marketing.get("consented_at"):
                return _error(
                    400,
                    "invalid",
                    "historical_import requires consented_at for each profile.",
                    pointer=f"/data/attributes/profiles/data/{i}/attributes/subscriptions",
                )
        list_id = ((body["data"].get("relationships") or {}).get("list") or {}).get("data", {}).get("id")
        state.subscription_jobs.append(body)
        for p in profiles:
            email = p["attributes"]["email"].strip().lower()
            reason = state.suppression_of(email)
            if reason and reason not in LIFTED_BY_SUBSCRIBE:
                state.ignored_subscriptions.append(email)
                continue
            if reason:
                state.resubscribed.append(email)
                state.suppressed.pop(email, None)
            pid = state.upsert_profile({"email": email})
            state.subscribed[email] = (
                p["attributes"]["subscriptions"]["email"]["marketing"].get("consented_at") or _now()
            )
            if list_id in state.lists:
                state.lists[list_id]["members"].setdefault(pid, None)
        return Response(status_code=202)

    async def unsubscribe(request: Request, body) -> Response:
        if bad := _type_error(body, "profile-subscription-bulk-delete-job"):
            return bad
        profiles = (body["data"]["attributes"].get("profiles") or {}).get("data") or []
        if len(profiles) > MAX_UNSUBSCRIBE_PER_CALL:
            return _error(
                400,
                "invalid",
                f"At most {MAX_UNSUBSCRIBE_PER_CALL} profiles per call.",
                pointer="/data/attributes/profiles/data",
            )
        state.unsubscription_jobs.append(body)
        for p in profiles:
            email = ((p or {}).get("attributes") or {}).get("email")
            if email:
                state.suppress(email, "UNSUBSCRIBE")
        return Response(status_code=202)

    def route(path: str, name: str, handler, methods: list[str]) -> Route:
        return Route(path, guarded(name, handler), methods=methods, name=f"klaviyo_writes.{name}")

    return [
        route("/api/profile-bulk-import-jobs", "bulk_import_profiles", create_import_job, ["POST"]),
        route(
            "/api/profile-bulk-import-jobs/{job_id}", "get_bulk_import_profiles_job", get_import_job, ["GET"]
        ),
        route(
            "/api/profile-bulk-import-jobs/{id}/import-errors",
            "get_errors_for_bulk_import_profiles_job",
            import_errors,
            ["GET"],
        ),
        route(
            "/api/profile-bulk-import-jobs/{id}/profiles",
            "get_profiles_for_bulk_import_job",
            import_profiles,
            ["GET"],
        ),
        route("/api/events", "create_event", create_event, ["POST"]),
        route("/api/event-bulk-create-jobs", "bulk_create_events", bulk_create_events, ["POST"]),
        route("/api/lists", "get_lists", get_lists, ["GET"]),
        route("/api/lists", "create_list", create_list, ["POST"]),
        route(
            "/api/lists/{id}/relationships/profiles",
            "list_relationships",
            list_members,
            ["GET", "POST", "DELETE"],
        ),
        route("/api/profile-subscription-bulk-create-jobs", "bulk_subscribe_profiles", subscribe, ["POST"]),
        route(
            "/api/profile-subscription-bulk-delete-jobs", "bulk_unsubscribe_profiles", unsubscribe, ["POST"]
        ),
    ]


class _WorldProfiles:
    """Existing sandbox profiles by email: unsubscribed ones are suppressed as UNSUBSCRIBE, bounces as
    HARD_BOUNCE. Only the customers asked about are looked at."""

    def __init__(self, data):
        self.data = data
        self.by_email = {c.email.lower(): c for c in data.world.customers}

    def get(self, email: str, default):
        c = self.by_email.get(email)
        if c is None:
            return default
        s = self.data.profile_state(c)
        reason = (
            "UNSUBSCRIBE"
            if s["consent"] == "UNSUBSCRIBED"
            else (s["suppression"][0]["reason"] if s["suppression"] else None)
        )
        return self.data.profile_id(c), reason


def _job_json(request: Request, job: ImportJob) -> dict:
    done = job.status == "complete"
    return {
        "type": "profile-bulk-import-job",
        "id": job.id,
        "attributes": {
            "status": job.status,
            "created_at": job.created_at,
            "total_count": len(job.profiles),
            "completed_count": len(job.profile_ids) if done else 0,
            "failed_count": len(job.errors) if done else 0,
            "completed_at": job.completed_at,
            "expires_at": None,
            "started_at": job.started_at,
        },
        "links": {"self": f"{_base(request)}/api/profile-bulk-import-jobs/{job.id}/"},
    }
