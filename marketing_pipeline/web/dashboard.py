"""The marketer's morning page: ``/`` and ``/dashboard``, its JSON at ``/dashboard/api/data``.

Charts are drawn by plotly.js from the ``plotly`` package, served from here (no CDN), so the
page works offline. All numbers come from SQL over the marts (``dashboard_data``).
"""

import functools
from datetime import date
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from marketing_pipeline.warehouse import connect
from marketing_pipeline.web import dashboard_data

HERE = Path(__file__).resolve().parent
CACHE = {"Cache-Control": "public, max-age=86400"}


def page(request: Request) -> Response:
    return FileResponse(HERE / "templates" / "dashboard.html", headers={"Cache-Control": "no-cache"})


@functools.lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


def plotly_js(request: Request) -> Response:
    return Response(_plotly_js(), media_type="application/javascript", headers=CACHE)


def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ("dashboard.js", "dashboard.css"):
        return JSONResponse({"error": f"no static file {name!r}"}, status_code=404)
    return FileResponse(HERE / "static" / name, headers={"Cache-Control": "no-cache"})


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
    with connect(autocommit=True) as conn:
        if start is None or end is None:
            start, end = dashboard_data.default_range(conn)
        if end < start:
            return JSONResponse({"error": f"end {end} is before start {start}"}, status_code=400)
        if (end - start).days > 3660:
            return JSONResponse({"error": "range longer than ten years"}, status_code=400)
        return JSONResponse(dashboard_data.dashboard(conn, start, end))


routes = [
    Route("/", page),
    Route("/dashboard", page),
    Route("/dashboard/api/data", data),
    Route("/static/plotly.min.js", plotly_js),
    Route("/dashboard/static/{name}", static),
]
