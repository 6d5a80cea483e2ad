"""A local SendGrid v3: mail send with the spec's required fields and SendGrid's error body,
and the suppression lists (unsubscribes, bounces, spam reports) with limit/offset paging.

Mounted by the sandbox under ``/sendgrid``. Accepted messages are kept in ``messages`` and
listed at ``GET /sendgrid/_sandbox/messages`` for the demo and tests.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from datetime import UTC, datetime, time, timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from marketing_pipeline.sandbox import credentials
from marketing_pipeline.sandbox.sendgrid import global_suppressions
from marketing_pipeline.sandbox.world import World

API_KEY = credentials.SENDGRID_API_KEY


def errors(status: int, *problems: tuple[str | None, str]) -> JSONResponse:
    return JSONResponse({"errors": [{"field": f, "message": m} for f, m in problems]}, status_code=status)


def mail_problems(body: object) -> list[tuple[str | None, str]]:
    """What SendGrid would refuse in a mail send body (the spec's required fields and limits)."""
    if not isinstance(body, dict):
        return [(None, "The request body must be a JSON object.")]
    out: list[tuple[str | None, str]] = []
    pers = body.get("personalizations")
    if not isinstance(pers, list) or not pers:
        out.append(
            (
                "personalizations",
                "The personalizations field is required and must have at least one personalization.",
            )
        )
    elif len(pers) > 1000:
        out.append(("personalizations", "You may not have more than 1000 personalizations per request."))
    else:
        for i, p in enumerate(pers):
            to = p.get("to") if isinstance(p, dict) else None
            if (
                not isinstance(to, list)
                or not to
                or not all(isinstance(t, dict) and "@" in str(t.get("email", "")) for t in to)
            ):
                out.append(
                    (
                        f"personalizations.{i}.to",
                        "The to array is required for all personalization objects, "
                        "and must have at least one email object with a valid email address.",
                    )
                )
    sender = body.get("from")
    if not isinstance(sender, dict) or "@" not in str(sender.get("email", "")):
        out.append(
            (
                "from.email",
                "The from object must be provided for every email send. It is an object that "
                "requires an email parameter.",
            )
        )
    if not body.get("template_id"):
        content = body.get("content")
        if (
            not isinstance(content, list)
            or not content
            or not all(
                isinstance(c, dict) and c.get("type") and isinstance(c.get("value"), str) and c["value"]
                for c in content
            )
        ):
            out.append(
                (
                    "content",
                    "Unless a valid template_id is provided, the content parameter is required. "
                    "There must be at least one defined content block with a type and value.",
                )
            )
        has_subject = bool(body.get("subject")) or (
            isinstance(pers, list) and pers and all(isinstance(p, dict) and p.get("subject") for p in pers)
        )
        if not has_subject:
            out.append(
                (
                    "subject",
                    "The subject is required. You can get around this requirement if you use a "
                    "template with a subject defined or if every personalization has a subject defined.",
                )
            )
    cats = body.get("categories")
    if cats is not None and (
        not isinstance(cats, list)
        or len(cats) > 10
        or not all(isinstance(c, str) and len(c) <= 255 for c in cats)
    ):
        out.append(
            ("categories", "Categories must be an array of at most 10 strings of at most 255 characters.")
        )
    for i, p in enumerate(pers if isinstance(pers, list) else []):
        args = p.get("custom_args") if isinstance(p, dict) else None
        if args is not None and (
            not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values())
        ):
            out.append(
                (f"personalizations.{i}.custom_args", "Custom args must be an object of string values.")
            )
    return out


class SendGridEmulator:
    def __init__(self, world: World):
        self.world = world
        self.messages: list[dict] = []
        self.global_unsubscribes: dict[str, int] = {}  # email -> created (unix time)
        self._lock = threading.Lock()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v3/mail/send", self.mail_send, methods=["POST"]),
                Route("/v3/suppression/{kind:str}", self.suppressions, methods=["GET"]),
                Route("/_sandbox/messages", self.list_messages, methods=["GET", "DELETE"]),
                *global_suppressions.routes(self),
            ]
        )

    @staticmethod
    def _authorized(request: Request) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {API_KEY}"

    async def mail_send(self, request: Request) -> Response:
        if not self._authorized(request):
            return errors(401, (None, "The provided authorization grant is invalid, expired, or revoked"))
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return errors(400, (None, "Bad Request: the body is not valid JSON"))
        problems = mail_problems(body)
        if problems:
            return errors(400, *problems)
        message_id = uuid.uuid4().hex[:22]
        with self._lock:
            self.messages.append(
                {"message_id": message_id, "received_at": datetime.now(UTC).isoformat(), "body": body}
            )
        return Response(status_code=202, headers={"X-Message-Id": message_id})

    async def list_messages(self, request: Request) -> Response:
        if request.method == "DELETE":
            with self._lock:
                self.messages.clear()
            return Response(status_code=204)
        return JSONResponse(self.messages)

    def suppression_list(self, kind: str) -> list[dict]:
        """A stable few customers per list, derived from the World."""
        rate = {"unsubscribes": 0.01, "bounces": 0.004, "spam_reports": 0.002}[kind]
        rng = random.Random(f"{self.world.seed}:sendgrid:{kind}")
        base = datetime.combine(self.world.today, time(12), tzinfo=UTC)
        out = []
        for c in self.world.customers:
            if rng.random() < rate:
                created = int(
                    (base - timedelta(days=rng.randrange(0, 365), minutes=rng.randrange(1440))).timestamp()
                )
                row = {"created": created, "email": c.email}
                if kind == "bounces":
                    row |= {
                        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
                        "status": "5.1.1",
                    }
                elif kind == "spam_reports":
                    row["ip"] = "10.63.202.100"
                out.append(row)
        out.sort(key=lambda r: (-r["created"], r["email"]))
        return out

    async def suppressions(self, request: Request) -> Response:
        if not self._authorized(request):
            return errors(401, (None, "The provided authorization grant is invalid, expired, or revoked"))
        kind = request.path_params["kind"]
        if kind not in ("unsubscribes", "bounces", "spam_reports"):
            return errors(404, (None, "resource not found"))
        q = request.query_params
        try:
            limit = int(q.get("limit", "500"))
            offset = int(q.get("offset", "0"))
            start = int(q["start_time"]) if q.get("start_time") else None
            end = int(q["end_time"]) if q.get("end_time") else None
        except ValueError:
            return errors(400, ("limit", "limit, offset, start_time and end_time must be integers"))
        if not 1 <= limit <= 500 or offset < 0:
            return errors(400, ("limit", "limit must be between 1 and 500 and offset at least 0"))
        rows = [
            r
            for r in self.suppression_list(kind)
            if (start is None or r["created"] >= start) and (end is None or r["created"] <= end)
        ]
        return JSONResponse(rows[offset : offset + limit])
