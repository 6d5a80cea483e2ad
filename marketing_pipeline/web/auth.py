"""The dashboard's login: one configured password, a signed session cookie, throttled attempts.

``DASHBOARD_PASSWORD`` is read on every request (unset: the dashboard stays locked, fail closed).
The cookie is signed with itsdangerous, keyed by ``DASHBOARD_SESSION_SECRET`` or, when that is
unset, by a key derived from the password (so changing the password ends every session). Failed
attempts are limited per client address and in total, in this process's memory.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from html import escape

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from marketing_pipeline.settings import web as web_settings

COOKIE = "mp_dashboard"
SESSION_SECONDS = 12 * 3600
WINDOW_SECONDS = 300
MAX_FAILURES_PER_CLIENT = 5  # per window
MAX_FAILURES_TOTAL = 50  # per window, all clients: a spread-out guesser is slowed too


def password() -> str:
    return web_settings.dashboard_password()


def _serializer() -> URLSafeTimedSerializer:
    secret = (
        web_settings.dashboard_session_secret()
        or hashlib.sha256(b"marketing_pipeline dashboard session:" + password().encode()).hexdigest()
    )
    return URLSafeTimedSerializer(secret, salt="dashboard-session")


def password_matches(given: str) -> bool:
    """Constant-time, over digests so neither length nor content leaks through timing."""
    expected = password()
    return bool(expected) and hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest(),
        hashlib.sha256(expected.encode()).digest(),
    )


def logged_in(request: Request) -> bool:
    cookie = request.cookies.get(COOKIE)
    if not cookie or not password():
        return False
    try:
        return _serializer().loads(cookie, max_age=SESSION_SECONDS) == "dashboard"
    except BadSignature:  # also SignatureExpired
        return False


class Throttle:
    """Failed attempts in a sliding window, per client and in total."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock, self.lock = clock, threading.Lock()
        self.per_client: dict[str, deque[float]] = defaultdict(deque)
        self.total: deque[float] = deque()

    def _trim(self, q: deque[float], now: float) -> None:
        while q and q[0] <= now - WINDOW_SECONDS:
            q.popleft()

    def retry_after(self, client: str) -> int:
        """Seconds to wait before another attempt is heard; 0 when one may be made now."""
        with self.lock:
            now = self.clock()
            q = self.per_client.get(client, deque())
            self._trim(q, now)
            self._trim(self.total, now)
            waits = [q[0] + WINDOW_SECONDS - now] if len(q) >= MAX_FAILURES_PER_CLIENT else []
            if len(self.total) >= MAX_FAILURES_TOTAL:
                waits.append(self.total[0] + WINDOW_SECONDS - now)
            return int(max(waits)) + 1 if waits else 0

    def failed(self, client: str) -> None:
        with self.lock:
            now = self.clock()
            self.per_client[client].append(now)
            self.total.append(now)
            if len(self.per_client) > 10_000:  # bounded memory under a spread-out attack
                self.per_client.pop(next(iter(self.per_client)))

    def succeeded(self, client: str) -> None:
        with self.lock:
            self.per_client.pop(client, None)


throttle = Throttle()


def _local(path: str | None) -> str:
    """Only a path on this site after login (no ``//host`` or ``https://``: no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/dashboard"
    return path


def _login_page(next_path: str, message: str = "", status: int = 200) -> HTMLResponse:
    locked = not password()
    body = (
        "<p>The dashboard is locked: set <code>DASHBOARD_PASSWORD</code> where the web app runs.</p>"
        if locked
        else f'<form method="post" action="/login"><input type="hidden" name="next" value="{escape(next_path)}">'
        '<label>Password <input type="password" name="password" autocomplete="current-password" autofocus>'
        '</label> <button type="submit">Sign in</button></form>'
    )
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title>'
        '<meta name="viewport" content="width=device-width"></head>'
        '<body style="font-family:Helvetica,Arial,sans-serif;max-width:420px;margin:80px auto">'
        f"<h1>Marketing dashboard</h1>{f'<p role=alert>{escape(message)}</p>' if message else ''}{body}"
        "</body></html>"
    )
    return HTMLResponse(
        html,
        status_code=503 if locked else status,
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


async def login_form(request: Request) -> Response:
    if logged_in(request):
        return RedirectResponse(_local(request.query_params.get("next")), status_code=303)
    return _login_page(_local(request.query_params.get("next")))


async def login(request: Request) -> Response:
    client = request.client.host if request.client else "unknown"
    if not password():
        return _login_page("/dashboard")
    wait = throttle.retry_after(client)
    if wait:
        return HTMLResponse(
            "Too many failed sign-in attempts; try again later.",
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    try:
        form = await request.form(max_files=0, max_fields=10)
    except Exception:  # a malformed multipart body is the sender's problem, not a 500
        return _login_page("/dashboard", "The form could not be read.", 400)
    given, next_path = form.get("password"), _local(str(form.get("next") or ""))
    if not isinstance(given, str) or not password_matches(given):
        throttle.failed(client)
        return _login_page(next_path, "Wrong password.", 401)
    throttle.succeeded(client)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE,
        _serializer().dumps("dashboard"),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def require_login(endpoint):
    """Pages redirect to the login form; the JSON API answers 401."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if logged_in(request):
            if inspect.iscoroutinefunction(endpoint):
                return await endpoint(request)
            return await run_in_threadpool(endpoint, request)  # as Starlette runs a plain function
        if request.url.path.startswith("/dashboard/api/"):
            return JSONResponse({"error": "sign in at /login"}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    return guarded


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
