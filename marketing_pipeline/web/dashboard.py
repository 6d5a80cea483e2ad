"""The marketer's morning page: ``/`` and ``/dashboard``, its JSON at ``/dashboard/api/data``,
all behind the login (``auth``).

Charts are drawn by Apache ECharts, vendored in ``static/vendor`` (see its README) and served
from here (no CDN), so the page works offline. All numbers come from SQL over the marts
(``dashboard_data``).
"""

import functools
import gzip
from datetime import date
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from marketing_pipeline.warehouse import pooled
from marketing_pipeline.web import auth, dashboard_data

HERE = Path(__file__).resolve().parent
# The page asks for vendor files with ``?v=VERSION``, so a new version is a new URL.
VENDOR_CACHE = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
VENDOR_FILES = {"echarts.min.js": "text/javascript"}


def page(request: Request) -> Response:
    return FileResponse(HERE / "templates" / "dashboard.html", headers={"Cache-Control": "no-cache"})


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
    if name not in ("dashboard.js", "dashboard.css"):
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


def data(request: Request) -> Response:
    try:
        start, end = _day(request, "start"), _day(request, "end")
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    with pooled() as conn:
        if start is None or end is None:
            start, end = dashboard_data.default_range(conn)
        if end < start:
            return JSONResponse({"error": f"end {end} is before start {start}"}, status_code=400)
        if (end - start).days > 3660:
            return JSONResponse({"error": "range longer than ten years"}, status_code=400)
        return JSONResponse(dashboard_data.dashboard(conn, start, end))


routes = [
    Route("/", auth.require_login(page)),
    Route("/dashboard", auth.require_login(page)),
    Route("/dashboard/api/data", auth.require_login(data)),
    Route("/dashboard/static/vendor/{name}", auth.require_login(vendor)),
    Route("/dashboard/static/{name}", auth.require_login(static)),
    Route("/favicon.ico", favicon),  # public: the login page shows it too
    *auth.routes,
]
