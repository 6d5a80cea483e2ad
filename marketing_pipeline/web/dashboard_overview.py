"""Every brand side by side (``/dashboard/brands``): revenue and orders over the last 7 and 30 days,
each source's freshness and the partitions whose latest run failed, per brand.

Each brand's figures are read from its own warehouse (``warehouse.engine.database_url(brand=...)``),
with the same marts and the same SQL as the brand's own dashboard (``figures.orders``): one truth.
Reading never creates, migrates or claims a database: a brand whose warehouse does not exist yet,
or has no data yet, is shown as such. A database that holds another brand's data is refused.

Failed partitions come from the Dagster instance (``DAGSTER_HOME``): the runs tagged
``dagster/partition/brand``, the latest run of each (job, partition). When the instance is not
configured or not reachable the page says so and shows the warehouse figures anyway.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import psycopg

from marketing_pipeline import clock
from marketing_pipeline.marts import figures
from marketing_pipeline.settings.brands import DEFAULT_ID, Brand, Brands
from marketing_pipeline.warehouse.engine import database_url, libpq_url
from marketing_pipeline.warehouse.pool import pooled
from marketing_pipeline.web.dashboard_data import brand_info

WINDOWS = (7, 30)  # days, ending with the brand's yesterday
FAILED_LOOKBACK_DAYS = 30  # runs created in this many days are read for failed partitions
MAX_RUNS = 2000  # per brand: the newest runs only
MAX_FAILED_LISTED = 20  # per brand
BRAND_TAG = "dagster/partition/brand"


class NoWarehouse(Exception):
    """The brand's warehouse database does not exist yet (no run has written to it)."""


class OtherBrandsWarehouse(Exception):
    """The database configured for a brand holds another brand's data."""


@contextmanager
def brand_connection(brand: Brand) -> Iterator[psycopg.Connection]:
    """An autocommit connection to ``brand``'s warehouse, after checking it holds that brand.

    The default brand's comes from the web app's pool; another brand's is opened for the request
    (a few milliseconds on the same server), so no brand's pool pushes another's out.
    """
    if brand.is_default:
        with pooled() as conn:
            _check_brand(conn, brand)
            yield conn
        return
    try:
        conn = psycopg.connect(libpq_url(database_url(brand=brand)), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if "does not exist" in str(exc):
            raise NoWarehouse(
                f"no warehouse yet for brand {brand.id!r}: no run has written its data"
            ) from None
        raise
    with conn:
        _check_brand(conn, brand)
        yield conn


def _check_brand(conn: psycopg.Connection, brand: Brand) -> None:
    try:
        row = conn.execute("SELECT brand_id FROM ops.warehouse_brand").fetchone()
    except psycopg.errors.UndefinedTable:
        raise NoWarehouse(
            f"brand {brand.id!r}'s warehouse is not migrated yet: no run has written to it"
        ) from None
    recorded = row[0] if row else None
    if recorded in (None, brand.id) or (recorded == DEFAULT_ID and brand.is_default):
        return
    raise OtherBrandsWarehouse(
        f"the database configured for brand {brand.id!r} holds brand {recorded!r}'s data; "
        f"point {brand.warehouse_variable} at brand {brand.id!r}'s own database"
    )


FRESHNESS_SQL = """
SELECT source, last_loaded_day, source_absent FROM marts.source_freshness ORDER BY source
"""

HAS_DATA_SQL = """
SELECT EXISTS (SELECT 1 FROM marts.channel_daily)
    OR EXISTS (SELECT 1 FROM marts.source_coverage WHERE status = 'loaded')
"""


def brand_figures(conn: psycopg.Connection, today: date) -> dict:
    """Revenue and orders of the last 7 and 30 complete days before ``today`` (the brand's local day),
    and each source's last loaded day."""
    end = today - timedelta(days=1)
    windows = []
    for days in WINDOWS:
        start = end - timedelta(days=days - 1)
        rows = figures.orders(conn, start, end)
        windows.append(
            {
                "days": days,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "revenue": float(sum(r["revenue"] for r in rows)),
                "orders": int(sum(r["orders"] for r in rows)),
            }
        )
    freshness = [
        {
            "source": source,
            "last_loaded_day": last.isoformat() if last else None,
            "days_behind": (end - last).days if last else None,
            "source_absent": bool(absent),
        }
        for source, last, absent in conn.execute(FRESHNESS_SQL)
    ]
    has_data = conn.execute(HAS_DATA_SQL).fetchone()[0]
    return {"has_data": bool(has_data), "windows": windows, "freshness": freshness}


# -- Dagster ---------------------------------------------------------------------------------


class DagsterUnavailable(Exception):
    """The Dagster instance is not configured for this process or cannot be read."""


_instances: dict[str, object] = {}
_instances_lock = threading.Lock()


def dagster_instance():
    """The Dagster instance of ``DAGSTER_HOME`` (one per home for the process)."""
    home = os.environ.get("DAGSTER_HOME", "").strip()
    if not home:
        raise DagsterUnavailable(
            "DAGSTER_HOME is not set for the web process: it cannot read the Dagster instance's runs"
        )
    with _instances_lock:
        instance = _instances.get(home)
        if instance is None:
            from dagster import DagsterInstance

            try:
                instance = DagsterInstance.get()
            except Exception as exc:  # noqa: BLE001 - any failure to open it is reported, not raised
                raise DagsterUnavailable(
                    f"the Dagster instance in {home} cannot be opened: {_first_line(exc)}"
                ) from None
            _instances[home] = instance
        return instance


def failed_partitions(instance, brands: Brands, now: datetime | None = None) -> dict[str, dict]:
    """Brand id -> ``{"count", "partitions"}``: the (job, partition) pairs of the brand whose latest
    run in the last ``FAILED_LOOKBACK_DAYS`` failed, newest first."""
    from dagster import DagsterRunStatus, RunsFilter

    since = (now or clock.now()) - timedelta(days=FAILED_LOOKBACK_DAYS)
    out = {}
    for brand in brands:
        try:
            records = instance.get_run_records(
                RunsFilter(tags={BRAND_TAG: brand.id}, created_after=since), limit=MAX_RUNS
            )
        except Exception as exc:  # noqa: BLE001 - storage down, wrong URL...: reported on the page
            raise DagsterUnavailable(f"the Dagster instance cannot be read: {_first_line(exc)}") from None
        latest: dict[tuple[str, str], object] = {}
        for rec in sorted(records, key=lambda r: r.create_timestamp, reverse=True):
            run = rec.dagster_run
            key = (run.job_name, run.tags.get("dagster/partition", ""))
            latest.setdefault(key, rec)
        failed = [rec for rec in latest.values() if rec.dagster_run.status == DagsterRunStatus.FAILURE]
        out[brand.id] = {
            "count": len(failed),
            "partitions": [
                {
                    "job": rec.dagster_run.job_name,
                    "partition": rec.dagster_run.tags.get("dagster/partition/day")
                    or rec.dagster_run.tags.get("dagster/partition")
                    or "",
                    "run_id": rec.dagster_run.run_id,
                    "at": (
                        rec.end_time
                        and datetime.fromtimestamp(rec.end_time, brand.tz).isoformat(timespec="minutes")
                    )
                    or rec.create_timestamp.astimezone(brand.tz).isoformat(timespec="minutes"),
                }
                for rec in failed[:MAX_FAILED_LISTED]
            ],
        }
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# -- the page's data -----------------------------------------------------------------------------


def overview(brands: Brands, now: datetime | None = None, instance_getter=dagster_instance) -> dict:
    """Every brand's figures from its own warehouse, and its failed partitions from Dagster."""
    now = now or clock.now()
    rows = []
    for brand in brands:
        today = now.astimezone(brand.tz).date()
        row = {**brand_info(brand), "today": today.isoformat(), "status": "ok", "message": None}
        try:
            with brand_connection(brand) as conn:
                row.update(brand_figures(conn, today))
            if not row["has_data"]:
                row["status"], row["message"] = "no data", "no data loaded yet"
        except NoWarehouse as exc:
            row.update(status="no warehouse", message=str(exc), has_data=False, windows=[], freshness=[])
        except OtherBrandsWarehouse as exc:
            row.update(status="error", message=str(exc), has_data=False, windows=[], freshness=[])
        except psycopg.OperationalError as exc:
            row.update(
                status="unreachable",
                message=f"warehouse not reachable: {_first_line(exc)}",
                has_data=False,
                windows=[],
                freshness=[],
            )
        rows.append(row)
    dagster: dict = {"reachable": True, "message": None}
    try:
        failed = failed_partitions(instance_getter(), brands, now)
    except DagsterUnavailable as exc:
        dagster = {"reachable": False, "message": str(exc)}
        failed = {}
    for row in rows:
        row["failed"] = failed.get(row["id"])  # None: Dagster not reachable
    return {"generated_at": now.isoformat(timespec="seconds"), "brands": rows, "dagster": dagster}
