"""``GET /r/{token}``: a recovery link (records the click, redirects to the cart or product, on
the store's own host or a configured one only); ``GET /u/{token}``: a confirmation page that
changes nothing (mail scanners fetch links); ``POST /u/{token}``: unsubscribe (a suppression
with source ``recovery_link``), from that page's button or an RFC 8058 one-click POST.
Unknown and expired tokens get a friendly page, never an error page.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from marketing_pipeline.cart_recovery import links
from marketing_pipeline.cart_recovery.emails import environment
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.warehouse import pooled


def page(title: str, message: str, status: int, confirm_action: str | None = None) -> HTMLResponse:
    policy = RecoveryPolicy.from_env()
    html = (
        environment()
        .get_template("link_page.html.j2")
        .render(
            brand=policy.brand_name,
            title=title,
            message=message,
            store_url=policy.store_url,
            confirm_action=confirm_action,
        )
    )
    return HTMLResponse(
        html, status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


def _click(token: str, user_agent: str | None) -> links.Link | None:
    with pooled() as conn:
        return links.record_click(conn, token, datetime.now(UTC), user_agent)


def _unsubscribe(token: str) -> links.Link | None:
    with pooled() as conn:
        return links.unsubscribe(conn, token, datetime.now(UTC))


def _resolve_unsubscribe(token: str) -> links.Link | None:
    with pooled() as conn:
        return links.resolve(conn, "unsubscribe", token, datetime.now(UTC))


def _not_found() -> HTMLResponse:
    return page(
        "This link does not work",
        "We could not find this unsubscribe link. Reply to any of our emails and we will take you off the list.",
        404,
    )


async def recover(request: Request) -> Response:
    link = await run_in_threadpool(_click, request.path_params["token"], request.headers.get("user-agent"))
    if link is None:
        return page(
            "This link does not work",
            "We could not find this cart link. Your items may still be waiting in the store.",
            404,
        )
    if link.expired:
        return page(
            "This link has expired",
            "Cart links only last a few days. Visit the store to pick up where you left off.",
            410,
        )
    policy = RecoveryPolicy.from_env()
    # checked again here: a link stored before a host was removed from the list goes to the store
    target = link.target_url if policy.may_redirect_to(link.target_url) else policy.store_url
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


async def confirm_unsubscribe(request: Request) -> Response:
    """GET (and HEAD): only a page asking to confirm; link scanners and prefetchers change nothing."""
    token = request.path_params["token"]
    if await run_in_threadpool(_resolve_unsubscribe, token) is None:
        return _not_found()
    return page(
        "Unsubscribe from our emails?",
        "You will not get cart reminders or other marketing emails from us.",
        200,
        confirm_action=request.url.path,
    )


async def unsubscribe(request: Request) -> Response:
    """POST: the page's button, or a mail client's RFC 8058 one-click POST (body
    ``List-Unsubscribe=One-Click``); either way no further confirmation."""
    link = await run_in_threadpool(_unsubscribe, request.path_params["token"])
    if link is None:
        return _not_found()
    return page(
        "You are unsubscribed", "You will not get cart reminders or other marketing emails from us.", 200
    )


routes = [
    Route("/r/{token:str}", recover, methods=["GET"]),
    Route("/u/{token:str}", confirm_unsubscribe, methods=["GET"]),
    Route("/u/{token:str}", unsubscribe, methods=["POST"]),
]
