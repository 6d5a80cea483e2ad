"""``GET /r/{token}``: a recovery link (records the click, redirects to the cart or product);
``GET|POST /u/{token}``: unsubscribe (records a suppression with source ``recovery_link``).
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
from marketing_pipeline.warehouse import connect


def page(title: str, message: str, status: int) -> HTMLResponse:
    policy = RecoveryPolicy.from_env()
    html = (
        environment()
        .get_template("link_page.html.j2")
        .render(brand=policy.brand_name, title=title, message=message, store_url=policy.store_url)
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _click(token: str, user_agent: str | None) -> links.Link | None:
    with connect(autocommit=True) as conn:
        return links.record_click(conn, token, datetime.now(UTC), user_agent)


def _unsubscribe(token: str) -> links.Link | None:
    with connect(autocommit=True) as conn:
        return links.unsubscribe(conn, token, datetime.now(UTC))


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
    return RedirectResponse(link.target_url, status_code=303, headers={"Cache-Control": "no-store"})


async def unsubscribe(request: Request) -> Response:
    link = await run_in_threadpool(_unsubscribe, request.path_params["token"])
    if link is None:
        return page(
            "This link does not work",
            "We could not find this unsubscribe link. Reply to any of our "
            "emails and we will take you off the list.",
            404,
        )
    return page(
        "You are unsubscribed", "You will not get cart reminders or other marketing emails from us.", 200
    )


routes = [
    Route("/r/{token:str}", recover, methods=["GET"]),
    Route("/u/{token:str}", unsubscribe, methods=["GET", "POST"]),
]
