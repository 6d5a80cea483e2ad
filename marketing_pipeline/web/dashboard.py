"""The marketer's morning page: ``/`` and ``/dashboard``, its JSON at ``/dashboard/api/data``,
and every brand side by side at ``/dashboard/brands`` (JSON ``/dashboard/api/brands``), all behind
the login (``auth``).

The brand is in the URL: ``?brand=<id>`` on every page and endpoint, the default brand when absent;
an unknown brand is a 404 naming the brands. Each brand's figures come from its own warehouse
(``dashboard_overview.brand_connection``), its money in its currency, its days in its time zone.

Charts are drawn by Apache ECharts, vendored in ``static/vendor`` (see its README) and served
from here (no CDN), so the page works offline. All numbers come from SQL over the marts
(``dashboard_data``).
"""

import functools
import gzip
from datetime import date
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from marketing_pipeline import clock
from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand, Brands
from marketing_pipeline.web import auth, dashboard_data, dashboard_overview

HERE = Path(__file__).resolve().parent
# The page asks for vendor files with ``?v=VERSION``, so a new version is a new URL.
VENDOR_CACHE = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
VENDOR_FILES = {"echarts.min.js": "text/javascript"}


class UnknownBrand(LookupError):
    pass


def _brand(request: Request) -> tuple[Brands, Brand]:
    """The brands and the one the URL names (``?brand=``), the default brand when it names none."""
    brands = brand_settings.load()
    raw = request.query_params.get("brand", "").strip()
    if not raw:
        return brands, brands.default
    try:
        return brands, brands.get(raw)
    except SettingsError:
        raise UnknownBrand(f"unknown brand {raw[:64]!r}; brands: {', '.join(brands.ids)}") from None


def _not_found(request: Request, message: str) -> Response:
    if request.url.path.startswith("/dashboard/api/"):
        return JSONResponse({"error": message}, status_code=404)
    return HTMLResponse(
        f"<!doctype html><title>Unknown brand</title><h1>Unknown brand</h1><p>{escape(message)}</p>"
        '<p><a href="/dashboard/brands">All brands</a></p>',
        status_code=404,
    )


def page(request: Request) -> Response:
    try:
        _brand(request)
    except UnknownBrand as exc:
        return _not_found(request, str(exc))
    return FileResponse(HERE / "templates" / "dashboard.html", headers={"Cache-Control": "no-cache"})


def brands_page(request: Request) -> Response:
    return FileResponse(HERE / "templates" / "brands.html", headers={"Cache-Control": "no-cache"})


@functools.lru_cache(maxsize=len(VENDOR_FILES))
def _gzipped(name: str) -> bytes:
    return gzip.compress((HERE / "static" / "vendor" / name).read_bytes(), mtime=0)


def vendor(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in VENDOR_FILES:  # a fixed list: no paths from the URL reach the file system
        return JSONResponse({"error": f"no vendor file {name!r}"}, status_code=404)
    media_type = VENDOR_FILES[name]
    if "gzip" in request.headers.get("accept-encoding", ""):
        # compressed once per process (~30 ms): 1 MB of JavaScript goes out as ~330 KB
        return Response(
            _gzipped(name), media_type=media_type, headers={**VENDOR_CACHE, "Content-Encoding": "gzip"}
        )
    return FileResponse(HERE / "static" / "vendor" / name, media_type=media_type, headers=VENDOR_CACHE)


def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ("dashboard.js", "dashboard.css", "brands.js"):
        return JSONResponse({"error": f"no static file {name!r}"}, status_code=404)
    return FileResponse(HERE / "static" / name, headers={"Cache-Control": "no-cache"})


def favicon(request: Request) -> Response:
    return FileResponse(
        HERE / "static" / "favicon.ico",
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _day(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from None


def _switch(brands: Brands) -> list[dict]:
    return [{"id": b.id, "name": b.name or b.id} for b in brands]


def data(request: Request) -> Response:
    try:
        brands, brand = _brand(request)
    except UnknownBrand as exc:
        return _not_found(request, str(exc))
    try:
        start, end = _day(request, "start"), _day(request, "end")
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    head = {"brand": dashboard_data.brand_info(brand), "brands": _switch(brands)}
    try:
        with dashboard_overview.brand_connection(brand) as conn:
            if start is None or end is None:
                start, end = dashboard_data.default_range(conn, today=clock.today(brand.tz))
            if end < start:
                return JSONResponse({"error": f"end {end} is before start {start}", **head}, status_code=400)
            if (end - start).days > 3660:
                return JSONResponse({"error": "range longer than ten years", **head}, status_code=400)
            return JSONResponse({**head, **dashboard_data.dashboard(conn, start, end, brand)})
    except dashboard_overview.NoWarehouse as exc:
        # not an error: the brand exists, nothing has been loaded for it yet
        return JSONResponse({**head, "no_data": str(exc)})
    except dashboard_overview.OtherBrandsWarehouse as exc:
        return JSONResponse({"error": str(exc), **head}, status_code=409)


def brands_data(request: Request) -> Response:
    return JSONResponse(dashboard_overview.overview(brand_settings.load()))


routes = [
    Route("/", auth.require_login(page)),
    Route("/dashboard", auth.require_login(page)),
    Route("/dashboard/brands", auth.require_login(brands_page)),
    Route("/dashboard/api/data", auth.require_login(data)),
    Route("/dashboard/api/brands", auth.require_login(brands_data)),
    Route("/dashboard/static/vendor/{name}", auth.require_login(vendor)),
    Route("/dashboard/static/{name}", auth.require_login(static)),
    Route("/favicon.ico", favicon),  # public: the login page shows it too
    *auth.routes,
]
