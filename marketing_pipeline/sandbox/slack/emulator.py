"""A local Slack: ``chat.postMessage`` (bot token) and incoming webhooks, keeping every message.

Mounted by the sandbox under ``/slack``: the Web API at ``/slack/api/<method>``, webhooks at
``/slack/services/<anything>``, and what was received at ``GET /slack/_sandbox/messages``.
Errors as Slack sends them: HTTP 200 with ``{"ok": false, "error": ...}`` for the Web API
(``not_authed``, ``invalid_auth``, ``channel_not_found``, ``no_text``), plain-text 4xx for webhooks.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from marketing_pipeline.sandbox.credentials import SLACK_BOT_TOKEN as TOKEN


class SlackEmulator:
    def __init__(self, world=None):
        self.messages: list[dict] = []

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/chat.postMessage", self.post_message, methods=["POST"]),
                Route("/services/{path:path}", self.webhook, methods=["POST"]),
                Route("/_sandbox/messages", self.list_messages, methods=["GET", "DELETE"]),
            ]
        )

    async def _body(self, request: Request) -> dict:
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            return json.loads(raw or b"{}")
        return dict(parse_qsl(raw.decode()))

    async def post_message(self, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        try:
            body = await self._body(request)
        except ValueError:
            return JSONResponse({"ok": False, "error": "invalid_json"})
        token = auth.removeprefix("Bearer ").strip() or body.get("token", "")
        if not token:
            return JSONResponse({"ok": False, "error": "not_authed"})
        if token != TOKEN:
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        channel = body.get("channel")
        if not channel:
            return JSONResponse({"ok": False, "error": "channel_not_found"})
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return JSONResponse({"ok": False, "error": "no_text"})
        ts = f"{time.time():.6f}"
        message = {"via": "api", "channel": channel, "text": body.get("text", ""), "ts": ts}
        self.messages.append(message)
        return JSONResponse({"ok": True, "channel": channel, "ts": ts, "message": {"text": message["text"]}})

    async def webhook(self, request: Request) -> PlainTextResponse:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return PlainTextResponse("no_text", status_code=400)
        self.messages.append(
            {
                "via": "webhook",
                "path": request.path_params["path"],
                "text": body.get("text", ""),
                "ts": f"{time.time():.6f}",
            }
        )
        return PlainTextResponse("ok")

    async def list_messages(self, request: Request) -> JSONResponse:
        if request.method == "DELETE":
            self.messages.clear()
        return JSONResponse({"messages": self.messages})
