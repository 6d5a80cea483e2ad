"""The sandbox Customer.io App API's action endpoints: transactional email and push, broadcast
triggers, people search and lookups. State lives on the emulator so tests and the demo can read it.

People are the ones the Track side has identified (``emulator.people``, keyed by id or email);
their activities are the events tracked for them and the messages sent to them here.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# The sandbox workspace's transactional messages: id -> trigger name.
TRANSACTIONAL = {1: "cart_reminder", 2: "cart_urgency", 3: "cart_offer", 4: "order_shipped_push"}
MAX_RECIPIENTS = 15
MAX_EMAIL_BYTES = 1024 * 1024
MAX_TRIGGER_DATA_BYTES = 50_000


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"meta": {"error": message}}, status_code=status)


def _message_id(value) -> int | None:
    if isinstance(value, int) and value in TRANSACTIONAL:
        return value
    if isinstance(value, str):
        return next((k for k, v in TRANSACTIONAL.items() if v == value.lower()), None)
    return None


def _identifier_problem(ident) -> str | None:
    if not isinstance(ident, dict) or len(ident) != 1 or next(iter(ident)) not in ("id", "email", "cio_id"):
        return "identifiers must hold exactly one of id, email or cio_id"
    return None


def action_routes(emulator) -> list[Route]:
    emulator.transactional_sent = getattr(emulator, "transactional_sent", [])
    emulator.pushes_sent = getattr(emulator, "pushes_sent", [])
    emulator.broadcast_triggers = getattr(emulator, "broadcast_triggers", [])
    trigger_ids = itertools.count(1)

    def person(key: str, id_type: str = "id") -> tuple[str, dict] | None:
        for ident, attrs in emulator.people.items():
            email = attrs.get("email") or (ident if "@" in ident else None)
            if (id_type == "email" and email == key) or (id_type != "email" and ident == key):
                return ident, {
                    "id": ident,
                    "email": email,
                    "cio_id": f"cio_{uuid.uuid5(uuid.NAMESPACE_URL, ident).hex[:12]}",
                }
        return None

    async def body_of(request: Request) -> dict | JSONResponse:
        raw = await request.body()
        if len(raw) > MAX_EMAIL_BYTES:
            return _error(413, "payload over 1 MB")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return _error(400, "request body is not valid JSON")
        return body if isinstance(body, dict) else _error(400, "request body must be a JSON object")

    async def send(request: Request, kind: str) -> JSONResponse:
        if err := emulator._app_check(request):
            return err
        body = await body_of(request)
        if isinstance(body, JSONResponse):
            return body
        message_id = _message_id(body.get("transactional_message_id"))
        if message_id is None:
            return _error(400, "transactional_message_id is not a transactional message of this workspace")
        if problem := _identifier_problem(body.get("identifiers")):
            return _error(400, problem)
        if not isinstance(body.get("to"), str) or not body["to"]:
            return _error(400, "to is required")
        if kind == "email":
            recipients = [a for a in body["to"].split(",") + (body.get("bcc") or "").split(",") if a.strip()]
            if len(recipients) > MAX_RECIPIENTS:
                return _error(400, f"at most {MAX_RECIPIENTS} recipients across to and bcc")
        elif body["to"] not in ("all", "last_used", "custom"):
            return _error(400, "to must be all, last_used or custom")
        if "message_data" in body and not isinstance(body["message_data"], dict):
            return _error(400, "message_data must be an object")
        delivery = {"delivery_id": f"tx_{uuid.uuid4().hex[:20]}", "queued_at": int(time.time())}
        (emulator.transactional_sent if kind == "email" else emulator.pushes_sent).append(
            {**body, **delivery, "message_id": message_id}
        )
        return JSONResponse(delivery)

    async def send_email(request: Request) -> JSONResponse:
        return await send(request, "email")

    async def send_push(request: Request) -> JSONResponse:
        return await send(request, "push")

    async def trigger(request: Request) -> JSONResponse:
        if err := emulator._app_check(request):
            return err
        body = await body_of(request)
        if isinstance(body, JSONResponse):
            return body
        broadcast_id = request.path_params["broadcast_id"]
        if broadcast_id not in {b["id"] for b in emulator.workspace.broadcasts()}:
            return _error(404, f"broadcast {broadcast_id} not found")
        audiences = [
            k for k in ("recipients", "emails", "ids", "per_user_data", "data_file_url") if k in body
        ]
        if len(audiences) > 1:
            return _error(400, f"give one audience, not {audiences}")
        if len(json.dumps(body.get("data") or {}).encode()) > MAX_TRIGGER_DATA_BYTES:
            return _error(400, "data is over 50,000 bytes")
        trigger_id = next(trigger_ids)
        emulator.broadcast_triggers.append({**body, "broadcast_id": broadcast_id, "id": trigger_id})
        return JSONResponse({"id": trigger_id})

    async def customers(request: Request) -> JSONResponse:
        if err := emulator._app_check(request):
            return err
        if request.method == "GET":
            email = request.query_params.get("email")
            if not email:
                return _error(400, "email is required")
            found = [p for ident in list(emulator.people) if (p := person(ident)) and p[1]["email"] == email]
            return JSONResponse({"results": [p[1] for p in found]})
        body = await body_of(request)
        if isinstance(body, JSONResponse):
            return body
        flt = body.get("filter")
        if not isinstance(flt, dict):
            return _error(400, "filter is required")
        matched = [person(ident)[1] for ident, attrs in emulator.people.items() if _matches(flt, attrs)]
        start = int(request.query_params.get("start") or 0)
        limit = min(int(request.query_params.get("limit") or 50), 1000)
        page = matched[start : start + limit]
        nxt = str(start + limit) if start + limit < len(matched) else ""
        return JSONResponse({"identifiers": page, "ids": [p["id"] for p in page], "next": nxt})

    async def attributes(request: Request) -> JSONResponse:
        if err := emulator._app_check(request):
            return err
        found = person(request.path_params["customer_id"], request.query_params.get("id_type", "id"))
        if found is None:
            return _error(404, "customer not found")
        ident, ids = found
        attrs = {**emulator.people[ident], "id": ident, "email": ids["email"], "cio_id": ids["cio_id"]}
        customer = {
            "id": ident,
            "identifiers": ids,
            "attributes": {k: str(v) for k, v in attrs.items() if v is not None},
            "unsubscribed": ident in emulator.suppressed or bool(attrs.get("unsubscribed")),
            "devices": [],
        }
        return JSONResponse({"customer": customer})

    async def activities(request: Request) -> JSONResponse:
        if err := emulator._app_check(request):
            return err
        found = person(request.path_params["customer_id"], request.query_params.get("id_type", "id"))
        if found is None:
            return _error(404, "customer not found")
        ident, ids = found
        rows = [
            {
                "id": eid,
                "type": "event",
                "name": e.get("name"),
                "timestamp": e.get("timestamp") or 0,
                "customer_id": ident,
                "customer_identifiers": ids,
                "data": e.get("data") or {},
            }
            for eid, e in emulator.events.items()
            if e.get("customer") in (ident, ids["email"])
        ]
        rows += [
            {
                "id": s["delivery_id"],
                "type": "sent_email",
                "timestamp": s["queued_at"],
                "delivery_id": s["delivery_id"],
                "delivery_type": "email",
                "customer_id": ident,
                "customer_identifiers": ids,
                "data": {},
            }
            for s in emulator.transactional_sent
            if s["identifiers"].get("email") == ids["email"]
        ]
        wanted = request.query_params.get("type")
        rows = sorted((r for r in rows if not wanted or r["type"] == wanted), key=lambda r: -r["timestamp"])
        start = int(request.query_params.get("start") or 0)
        limit = int(request.query_params.get("limit") or 50)
        nxt = str(start + limit) if start + limit < len(rows) else ""
        return JSONResponse({"activities": rows[start : start + limit], "next": nxt})

    async def sandbox_sent(request: Request) -> JSONResponse:
        """Not Customer.io's: the transactional emails this sandbox received (the demo reads links from them)."""
        return JSONResponse(emulator.transactional_sent)

    return [
        Route("/_sandbox/transactional", sandbox_sent, methods=["GET"]),
        Route("/v1/send/email", send_email, methods=["POST"]),
        Route("/v1/send/push", send_push, methods=["POST"]),
        Route("/v1/campaigns/{broadcast_id:int}/triggers", trigger, methods=["POST"]),
        Route("/v1/customers", customers, methods=["GET", "POST"]),
        Route("/v1/customers/{customer_id}/attributes", attributes, methods=["GET"]),
        Route("/v1/customers/{customer_id}/activities", activities, methods=["GET"]),
    ]


def _matches(flt: dict, attrs: dict) -> bool:
    """The audience filter's and / or / not / attribute (eq, exists) parts; segments match nobody."""
    if "and" in flt:
        return all(_matches(f, attrs) for f in flt["and"])
    if "or" in flt:
        return any(_matches(f, attrs) for f in flt["or"])
    if "not" in flt:
        return not _matches(flt["not"], attrs)
    if "attribute" in flt:
        a = flt["attribute"]
        value = attrs.get(a.get("field"))
        if a.get("operator") == "exists":
            return value is not None
        return a.get("operator") == "eq" and str(value) == str(a.get("value"))
    return False
