"""Brand × day partitions: static (from brands.yaml) against dynamic brands, at 10 brands × 2 years.

The measurement behind the static brand dimension (README, "Many brands").
For each variant, ``BENCH_ASSETS`` assets (default 40, about the project's count) are partitioned
by ``MultiPartitionsDefinition({"brand": …, "day": DailyPartitionsDefinition})`` with
``BackfillPolicy.multi_run(31)``. Measured, each against today's daily-only shape as baseline:
  1. building the Definitions and their asset graph, and listing one asset's partition keys;
  2. partition status on a PostgreSQL-backed instance where one asset has its latest
     ``BENCH_RECORD_DAYS`` days materialized per brand (``get_materialized_partitions``, ``get_status_by_partition``);
  3. the UI's view of it: ``dagster-webserver`` on that instance, GraphQL ``assetPartitionStatuses``
     and ``partitionKeysByDimension`` (what the partition matrix loads), cold then warm;
  4. a backfill of 3 brands × 60 days launched through GraphQL and planned by ``dagster-daemon``
     with runs queued but never started (``max_concurrent_runs: 0``): how multi_run splits it.
Public dagster API only. Server: ``BENCH_DATABASE_URL``, ``MARKETING_TEST_DATABASE_URL`` or the
warehouse's; scratch databases are created and dropped.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import httpx

warnings.filterwarnings("ignore")  # dagster's preview/beta notices would drown the figures

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg  # noqa: E402
import yaml  # noqa: E402
from psycopg.conninfo import conninfo_to_dict  # noqa: E402

from marketing_pipeline.settings import brands as brand_settings  # noqa: E402

N_BRANDS = int(os.environ.get("BENCH_BRANDS", "10"))
N_ASSETS = int(os.environ.get("BENCH_ASSETS", "40"))
DAYS = int(os.environ.get("BENCH_DAYS", "730"))
# materialized per brand before the status is read (the latest days; writing all 7,300 takes long)
RECORD_DAYS = int(os.environ.get("BENCH_RECORD_DAYS", "30"))
END = date.today()
START = END - timedelta(days=DAYS - 1)
ZONES = ["America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "UTC", "Australia/Sydney"]
HERE = Path(__file__).resolve()
BIN = Path(sys.executable).parent


def write_brands_file(path: Path) -> None:
    brands = [
        {"id": f"brand_{i:02d}", "name": f"Brand {i}", "timezone": ZONES[i % len(ZONES)]}
        for i in range(N_BRANDS)
    ]
    path.write_text(yaml.safe_dump({"brands": brands}))


def day_dimension() -> dg.DailyPartitionsDefinition:
    # One time zone per dimension: UTC labels, and end_offset=2 so every zone's running day exists
    # (UTC+14 is at most one day ahead). Each brand cuts its day in its own zone from the label.
    return dg.DailyPartitionsDefinition(start_date=START.isoformat(), end_date=None, end_offset=2)


def brand_dimension(variant: str) -> dg.PartitionsDefinition:
    if variant == "dynamic":
        return dg.DynamicPartitionsDefinition(name="brand")
    return dg.StaticPartitionsDefinition(list(brand_settings.load().ids))


def partitions(variant: str) -> dg.PartitionsDefinition:
    if variant == "daily":
        return day_dimension()
    return dg.MultiPartitionsDefinition({"brand": brand_dimension(variant), "day": day_dimension()})


def build_defs(variant: str) -> dg.Definitions:
    part = partitions(variant)
    policy = dg.BackfillPolicy.multi_run(31)

    def make(i: int) -> dg.AssetsDefinition:
        deps = [f"asset_{i - 1:02d}"] if i % 8 else []  # chains of 8, like sources feeding marts

        @dg.asset(name=f"asset_{i:02d}", deps=deps, partitions_def=part, backfill_policy=policy)
        def _asset(context) -> None:
            context.log.info("%s", context.partition_key_range)

        return _asset

    return dg.Definitions(assets=[make(i) for i in range(N_ASSETS)])


@dg.definitions
def bench_defs() -> dg.Definitions:
    """What dagster-webserver and dagster-daemon load (``BENCH_VARIANT``, ``MARKETING_BRANDS_FILE``)."""
    return build_defs(os.environ.get("BENCH_VARIANT", "static"))


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def load_average() -> str:
    return open("/proc/loadavg").read().split(" ", 3)[:3].__str__()


def postgres_url(conninfo: str) -> str:
    i = conninfo_to_dict(conninfo)
    auth = i.get("user", "postgres") + (f":{i['password']}" if i.get("password") else "")
    return f"postgresql+psycopg2://{auth}@{i.get('host', '127.0.0.1')}:{i.get('port', 5432)}/{i['dbname']}"


def instance_home(db_conninfo: str, home: Path) -> None:
    (home / "dagster.yaml").write_text(
        yaml.safe_dump(
            {
                "storage": {"postgres": {"postgres_url": postgres_url(db_conninfo)}},
                # runs are planned and queued, never started: the split is what is measured
                "run_coordinator": {
                    "module": "dagster.core.run_coordinator",
                    "class": "QueuedRunCoordinator",
                    "config": {"max_concurrent_runs": 0},
                },
                "telemetry": {"enabled": False},
            }
        )
    )


def measure_definitions(variant: str) -> dict:
    build_s, defs = timed(lambda: build_defs(variant))
    graph_s, _ = timed(lambda: build_defs(variant).resolve_asset_graph())
    part = defs.resolve_assets_def("asset_00").partitions_def
    return {"build": build_s, "graph": graph_s, "part": part}


def gql(url: str, query: str, variables: dict | None = None) -> dict:
    r = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=300)
    r.raise_for_status()
    body = r.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


STATUS_QUERY = """query { assetNodes(assetKeys: [{path: ["asset_00"]}]) {
  partitionKeysByDimension { name partitionKeys }
  assetPartitionStatuses { __typename
    ... on MultiPartitionStatuses { primaryDimensionName ranges { primaryDimStartKey primaryDimEndKey } }
    ... on TimePartitionStatuses { ranges { startKey endKey status } } } } }"""

BACKFILL = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on UnauthorizedError { message } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_backfill(variant: str, home: Path, env: dict) -> dict:
    port = free_port()
    target = ["-f", str(HERE), "-a", "bench_defs"]
    web = subprocess.Popen(
        [str(BIN / "dagster-webserver"), *target, "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url, out = f"http://127.0.0.1:{port}", {}
    try:
        t = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t > 180 or web.poll() is not None:
                raise RuntimeError("dagster-webserver did not start")
            time.sleep(0.5)
        gql(url, "query { version }")
        out["ui_start"] = time.perf_counter() - t
        cold = time.perf_counter()
        data = gql(url, STATUS_QUERY)
        out["ui_cold"] = time.perf_counter() - cold
        out["ui_warm"], _ = timed(lambda: gql(url, STATUS_QUERY))
        node = data["assetNodes"][0]
        out["dimensions"] = {d["name"]: len(d["partitionKeys"]) for d in node["partitionKeysByDimension"]}
        out["status_type"] = node["assetPartitionStatuses"]["__typename"]
        if variant == "daily":
            return out
        brands = list(brand_settings.load().ids)[:3]
        days = [(END - timedelta(days=d)).isoformat() for d in range(min(60, DAYS))]
        names = [f"{b}|{d}" for b in brands for d in days]
        launched = gql(
            url,
            BACKFILL,
            {
                "p": {
                    "partitionNames": names,
                    "assetSelection": [{"path": ["asset_00"]}, {"path": ["asset_01"]}],
                }
            },
        )["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(launched)
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", *target],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            instance = dg.DagsterInstance.from_config(str(home))
            t, last, stable = time.perf_counter(), -1, 0
            while time.perf_counter() - t < 240 and stable < 3:
                time.sleep(5)
                runs = instance.get_runs(
                    filters=dg.RunsFilter(tags={"dagster/backfill": launched["backfillId"]})
                )
                stable = stable + 1 if len(runs) == last and runs else 0
                last = len(runs)
            out["plan"] = time.perf_counter() - t
        finally:
            daemon.terminate()
            daemon.wait(30)
        spans = Counter()
        for run in runs:
            first, last_key = (run.tags.get(f"dagster/asset_partition_range_{e}") for e in ("start", "end"))
            brand = (first or "").split("|")[0]
            out.setdefault("mixed_brands", False)
            out["mixed_brands"] |= brand != (last_key or "").split("|")[0]
            spans[brand] += 1
        out["runs"], out["runs_per_brand"] = len(runs), dict(spans)
        out["run_sizes"] = sorted(
            {
                (
                    date.fromisoformat(r.tags["dagster/asset_partition_range_end"].split("|")[1])
                    - date.fromisoformat(r.tags["dagster/asset_partition_range_start"].split("|")[1])
                ).days
                + 1
                for r in runs
                if "dagster/asset_partition_range_end" in r.tags
            }
        )
        return out
    finally:
        web.terminate()
        web.wait(30)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench_brands_"))
    write_brands_file(work / "brands.yaml")
    os.environ[brand_settings.BRANDS_FILE] = str(work / "brands.yaml")
    print(f"{N_BRANDS} brands x {DAYS} days, {N_ASSETS} assets; load average before {load_average()}")
    for variant in ("daily", "static", "dynamic"):
        measure(variant, work)
    print(f"load average after {load_average()}")


def measure(variant: str, work: Path) -> None:
    from bench.scratch import scratch_database, server_url

    d = measure_definitions(variant)
    keys = (
        [str(k) for k in d["part"].get_partition_keys(dynamic_partitions_store=None)]
        if variant != "dynamic"
        else None
    )
    with scratch_database(server_url()) as db:
        home = work / variant
        home.mkdir()
        instance_home(db, home)
        instance = dg.DagsterInstance.from_config(str(home))
        if keys is None:  # dynamic: the brands live in the instance, added from the file
            instance.add_dynamic_partitions("brand", list(brand_settings.load().ids))
            keys = [str(k) for k in d["part"].get_partition_keys(dynamic_partitions_store=instance)]
        write_s, written = record_keys(instance, d["part"], keys)
        mat_s, mat = timed(lambda: instance.get_materialized_partitions(dg.AssetKey("asset_00")))
        status_s, _ = timed(
            lambda: instance.get_status_by_partition(dg.AssetKey("asset_00"), keys, d["part"])
        )
        env = {**os.environ, "DAGSTER_HOME": str(home), "BENCH_VARIANT": variant}
        ui = serve_and_backfill(variant, home, env)
        instance.dispose()
    print(
        f"{variant:8s} partitions/asset {len(keys):6d}  defs build {d['build']:.2f}s  asset graph "
        f"{d['graph']:.2f}s  record {written} materializations {write_s:.1f}s "
        f" materialized partitions {mat_s * 1000:.0f} ms ({len(mat)})  status by partition "
        f"{status_s * 1000:.0f} ms",
        flush=True,
    )
    print(
        f"{'':8s} UI: webserver ready {ui['ui_start']:.1f}s  partition status query cold "
        f"{ui['ui_cold']:.2f}s warm {ui['ui_warm']:.2f}s  dims {ui['dimensions']} {ui['status_type']}",
        flush=True,
    )
    if "runs" in ui:
        print(
            f"{'':8s} backfill {min(3, N_BRANDS)} brands x {min(60, DAYS)} days x 2 assets, multi_run(31): {ui['runs']} runs "
            f"planned in {ui['plan']:.0f}s, per brand {ui['runs_per_brand']}, days per run "
            f"{ui['run_sizes']}, a run spanning two brands: {ui['mixed_brands']}",
            flush=True,
        )


def record_keys(
    instance: dg.DagsterInstance, part: dg.PartitionsDefinition, keys: list[str]
) -> tuple[float, int]:
    """Materialize asset_00 for every key: one run per brand over its whole range (as a backfill would)."""

    @dg.asset(name="asset_00", partitions_def=part)
    def _asset() -> None:
        return None

    by_brand: dict[str, list[str]] = {}
    first = (END - timedelta(days=RECORD_DAYS - 1)).isoformat()
    for key in (k for k in keys if k.split("|")[-1] >= first):
        by_brand.setdefault(key.split("|")[0] if "|" in key else "", []).append(key)
    t = time.perf_counter()
    for brand_keys in by_brand.values():
        tags = {
            "dagster/asset_partition_range_start": brand_keys[0],
            "dagster/asset_partition_range_end": brand_keys[-1],
        }
        dg.materialize([_asset], instance=instance, tags=tags, raise_on_error=True)
    return time.perf_counter() - t, sum(map(len, by_brand.values()))


if __name__ == "__main__":
    main()
