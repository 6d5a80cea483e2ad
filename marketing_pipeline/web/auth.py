"""The dashboard's login: one configured password, a signed session cookie, throttled attempts.

``DASHBOARD_PASSWORD`` is read on every request (unset: the dashboard stays locked, fail closed).
The cookie is signed with itsdangerous, keyed by ``DASHBOARD_SESSION_SECRET`` or, when that is
unset, by a key derived from the password (so changing the password ends every session).
Sign-in attempts are limited per client address and in total, in ``ops.login_throttle`` so that
every web process enforces one limit: an attempt is taken (one atomic upsert) before the
password is checked, and given back when it succeeds or is refused, so only failures count.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
from datetime import datetime, timedelta
from html import escape
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from marketing_pipeline.settings import web as web_settings
from marketing_pipeline.warehouse.pool import apooled

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
    """Attempts per fixed window, per client and in total, shared through PostgreSQL."""

    TAKE = """
        INSERT INTO ops.login_throttle AS t (bucket, window_start, attempts)
        VALUES (%(client)s, now(), 1), ('all', now(), 1)
        ON CONFLICT (bucket) DO UPDATE SET
          attempts = CASE WHEN t.window_start <= now() - %(window)s THEN 1 ELSE t.attempts + 1 END,
          window_start = CASE WHEN t.window_start <= now() - %(window)s THEN now() ELSE t.window_start END
        RETURNING bucket, attempts, window_start,
          ceil(extract(epoch FROM window_start + %(window)s - now()))::integer AS left_s
    """
    # one row at a time: rows are always locked client first, then 'all' (no deadlock with TAKE)
    GIVE_BACK = (
        "UPDATE ops.login_throttle SET attempts = attempts - 1"
        " WHERE bucket = %s AND window_start = %s AND attempts > 0"
    )

    @staticmethod
    def bucket(client: str) -> str:
        return f"client:{client}"

    async def take(self, client: str) -> tuple[int, list[tuple[str, datetime]]]:
        """Take an attempt: (seconds to wait, 0 when it may go ahead; what to give back)."""
        params = {"client": self.bucket(client), "window": timedelta(seconds=WINDOW_SECONDS)}
        async with apooled() as conn:
            rows = await (await conn.execute(self.TAKE, params)).fetchall()
            if any(b == "all" and n == 1 for b, n, _, _ in rows):  # a new window: forget old clients
                await conn.execute(
                    "DELETE FROM ops.login_throttle WHERE window_start <= now() - %s",
                    (params["window"],),
                )
        taken = sorted(((b, start) for b, _, start, _ in rows), key=lambda r: r[0] == "all")
        waits = [
            left
            for b, n, _, left in rows
            if n > (MAX_FAILURES_TOTAL if b == "all" else MAX_FAILURES_PER_CLIENT)
        ]
        return (max(max(waits), 0) + 1 if waits else 0), taken

    async def give_back(self, taken: list[tuple[str, datetime]]) -> None:
        async with apooled() as conn:
            for row in taken:
                await conn.execute(self.GIVE_BACK, row)

    async def succeeded(self, client: str, taken: list[tuple[str, datetime]]) -> None:
        await self.give_back([t for t in taken if t[0] == "all"])
        async with apooled() as conn:
            await conn.execute("DELETE FROM ops.login_throttle WHERE bucket = %s", (self.bucket(client),))


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
    wait, taken = await throttle.take(client)
    if wait:
        await throttle.give_back(taken)  # a refused attempt is not a guess
        return HTMLResponse(
            "Too many failed sign-in attempts; try again later.",
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    try:
        form = await request.form(max_files=0, max_fields=10)
    except Exception:  # a malformed multipart body is the sender's problem, not a 500
        await throttle.give_back(taken)
        return _login_page("/dashboard", "The form could not be read.", 400)
    given, next_path = form.get("password"), _local(str(form.get("next") or ""))
    if not isinstance(given, str) or not password_matches(given):
        return _login_page(next_path, "Wrong password.", 401)  # the attempt stays taken
    await throttle.succeeded(client, taken)
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
        # the query too (``?brand=northwind``): after signing in the same brand's page opens
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    return guarded


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
