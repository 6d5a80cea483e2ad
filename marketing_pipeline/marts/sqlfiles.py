"""Run the files of ``sql/marts`` inside one transaction, with the marts settings applied."""

from pathlib import Path

import psycopg

from marketing_pipeline.marts import scope
from marketing_pipeline.marts import sources as src
from marketing_pipeline.settings import PROJECT_ROOT
from marketing_pipeline.settings import marts as config

SQL_DIR = PROJECT_ROOT / "sql" / "marts"


def path(name: str) -> Path:
    return SQL_DIR / f"{name}.sql"


# Rebuilds sort and hash millions of rows: enough memory keeps them off disk (a million orders sort
# in about 200 MB), keys and indexes are built once per table with maintenance_work_mem, and JIT
# compilation costs more than it saves on statements this size.
SESSION = {"work_mem": "256MB", "maintenance_work_mem": "512MB", "jit": "off"}


def apply_settings(conn: psycopg.Connection, gucs: dict[str, str]) -> None:
    """Transaction-local: they vanish at commit, so nothing leaks to the next user of the connection.
    One statement for all of them (a round trip each cost a daily refresh's builders 5-15 ms apiece)."""
    settings = {**SESSION, **{f"marts.{key}": value for key, value in gucs.items()}}
    conn.execute(
        "SELECT count(set_config(name, value, true)) FROM unnest(%s::text[], %s::text[]) AS s(name, value)",
        (list(settings), list(settings.values())),
    )


def run(conn: psycopg.Connection, name: str) -> None:
    conn.execute(path(name).read_text())


def current_settings(conn: psycopg.Connection) -> dict[str, str]:
    """The marts settings in force in this transaction (a change means a full rebuild)."""
    keys = list(config.gucs())
    values = conn.execute(
        "SELECT array_agg(current_setting('marts.' || k, true) ORDER BY n) FROM unnest(%s::text[]) WITH ORDINALITY AS s(k, n)",
        (keys,),
    ).fetchone()[0]
    return dict(zip(keys, values, strict=True))


def build(conn: psycopg.Connection, target: str) -> dict[str, str]:
    """``<target>_stage`` (if any), then each present source's part, then ``<target>`` (if any).

    Returns the status of every source that has a part for this target: used or absent. Builders
    with a plan in ``scope.PLANS`` rewrite only what changed since they last ran, when they can.
    """
    present = src.present_names(conn)
    plan = scope.begin(conn, target, current_settings(conn), present)
    used: dict[str, str] = {}
    if path(f"{target}_stage").exists():
        run(conn, f"{target}_stage")
    for source in src.SOURCES:
        part = f"{target}_from_{source.name}"
        if not path(part).exists():
            continue
        if source.name in present:
            run(conn, part)
            used[source.name] = "used"
        else:
            used[source.name] = "absent"
    if path(target).exists():
        run(conn, target)
    scope.finish(conn, plan)
    if plan is not None:
        used["mode"] = "incremental" if plan.incremental else "full"
        used["scope"] = plan.reason
    return used
