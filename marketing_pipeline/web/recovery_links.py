"""``GET /r/{token}``: a recovery link (records the click, redirects to the cart or product, on
the store's own host or a configured one only); ``GET /u/{token}``: a confirmation page that
changes nothing (mail scanners fetch links); ``POST /u/{token}``: unsubscribe (a suppression
with source ``recovery_link``), from that page's button or an RFC 8058 one-click POST.
Unknown and expired tokens get a friendly page, never an error page.

Many brands: another brand's links carry its id, ``/r/<brand>/{token}`` and ``/u/<brand>/{token}``,
and resolve in that brand's warehouse only, with its name and store on the page; the default
brand's links keep the short form (links already in inboxes keep working). A token looked up under
another brand is simply not found there.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from marketing_pipeline.cart_recovery import links
from marketing_pipeline.cart_recovery.emails import environment
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.warehouse import pooled


def _brand(request: Request) -> Brand | None:
    """The brand the link's path names; the default brand for a link without one."""
    brand_id = request.path_params.get("brand")
    brand = brand_settings.from_path(brand_id)
    if brand is not None and brand.is_default and brand_id is not None:
        return None  # the default brand's links have no brand segment
    return brand


def page(
    brand: Brand, title: str, message: str, status: int, confirm_action: str | None = None
) -> HTMLResponse:
    policy = RecoveryPolicy.for_brand(brand)
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


def _click(brand: Brand, token: str, user_agent: str | None) -> links.Link | None:
    with pooled(brand=brand) as conn:
        return links.record_click(conn, token, datetime.now(UTC), user_agent)


def _unsubscribe(brand: Brand, token: str) -> links.Link | None:
    with pooled(brand=brand) as conn:
        return links.unsubscribe(conn, token, datetime.now(UTC))


def _resolve_unsubscribe(brand: Brand, token: str) -> links.Link | None:
    with pooled(brand=brand) as conn:
        return links.resolve(conn, "unsubscribe", token, datetime.now(UTC))


def _no_brand() -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><title>This link does not work</title><p>We could not find this link.</p>",
        status_code=404,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _not_found(brand: Brand) -> HTMLResponse:
    return page(
        brand,
        "This link does not work",
        "We could not find this unsubscribe link. Reply to any of our emails and we will take you off the list.",
        404,
    )


async def recover(request: Request) -> Response:
    brand = _brand(request)
    if brand is None:
        return _no_brand()
    link = await run_in_threadpool(
        _click, brand, request.path_params["token"], request.headers.get("user-agent")
    )
    if link is None:
        return page(
            brand,
            "This link does not work",
            "We could not find this cart link. Your items may still be waiting in the store.",
            404,
        )
    if link.expired:
        return page(
            brand,
            "This link has expired",
            "Cart links only last a few days. Visit the store to pick up where you left off.",
            410,
        )
    policy = RecoveryPolicy.for_brand(brand)
    # checked again here: a link stored before a host was removed from the list goes to the store
    target = link.target_url if policy.may_redirect_to(link.target_url) else policy.store_url
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


async def confirm_unsubscribe(request: Request) -> Response:
    """GET (and HEAD): only a page asking to confirm; link scanners and prefetchers change nothing."""
    brand = _brand(request)
    if brand is None:
        return _no_brand()
    token = request.path_params["token"]
    if await run_in_threadpool(_resolve_unsubscribe, brand, token) is None:
        return _not_found(brand)
    return page(
        brand,
        "Unsubscribe from our emails?",
        "You will not get cart reminders or other marketing emails from us.",
        200,
        confirm_action=request.url.path,
    )


async def unsubscribe(request: Request) -> Response:
    """POST: the page's button, or a mail client's RFC 8058 one-click POST (body
    ``List-Unsubscribe=One-Click``); either way no further confirmation."""
    brand = _brand(request)
    if brand is None:
        return _no_brand()
    link = await run_in_threadpool(_unsubscribe, brand, request.path_params["token"])
    if link is None:
        return _not_found(brand)
    return page(
        brand,
        "You are unsubscribed",
        "You will not get cart reminders or other marketing emails from us.",
        200,
    )


routes = [
    Route("/r/{token:str}", recover, methods=["GET"]),
    Route("/u/{token:str}", confirm_unsubscribe, methods=["GET"]),
    Route("/u/{token:str}", unsubscribe, methods=["POST"]),
    Route("/r/{brand:str}/{token:str}", recover, methods=["GET"]),
    Route("/u/{brand:str}/{token:str}", confirm_unsubscribe, methods=["GET"]),
    Route("/u/{brand:str}/{token:str}", unsubscribe, methods=["POST"]),
]
