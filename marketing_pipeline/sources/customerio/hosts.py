"""Customer.io hosts per region, and how a sandbox base URL maps to its sibling APIs."""

from __future__ import annotations

REGION_HOSTS = {
    "us": {
        "app": "https://api.customer.io",
        "track": "https://track.customer.io",
        "pipelines": "https://cdp.customer.io/v1",
    },
    "eu": {
        "app": "https://api-eu.customer.io",
        "track": "https://track-eu.customer.io",
        "pipelines": "https://cdp-eu.customer.io/v1",
    },
}
SANDBOX_SUFFIX = (
    "/app"  # the sandbox serves the App API at <prefix>/app, Track at /track, Pipelines at /cdp/v1
)


def resolve(kind: str, region: str, explicit: str = "", app_base_url: str = "") -> str:
    """The base URL for one API: an explicit URL wins; a sandbox app URL implies its siblings;
    otherwise the region's host (a US default host given with region eu means the EU host)."""
    region = (region or "us").strip().lower()
    if region not in REGION_HOSTS:
        raise ValueError(f"CUSTOMERIO_REGION must be 'us' or 'eu', got {region!r}")
    us_defaults = set(REGION_HOSTS["us"].values())
    explicit = (explicit or "").rstrip("/")
    if explicit and explicit not in us_defaults:
        return explicit
    app = (app_base_url or "").rstrip("/")
    if kind != "app" and app.endswith(SANDBOX_SUFFIX) and app not in us_defaults:
        return app[: -len(SANDBOX_SUFFIX)] + ("/track" if kind == "track" else "/cdp/v1")
    return REGION_HOSTS[region][kind]
