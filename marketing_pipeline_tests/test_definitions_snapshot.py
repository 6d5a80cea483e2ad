"""A snapshot of everything the Definitions expose: a change to the graph is a visible diff.

Refresh after an intended change with ``UPDATE_SNAPSHOTS=1 make test``.
"""

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def describe(defs) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitioned": node.partitions_def is not None,
            "pools": sorted(node.pools or []),
            "deps": sorted(d.to_user_string() for d in node.parent_keys),
        }
    repo = defs.get_repository_def()
    return {
        "assets": assets,
        "asset_checks": sorted(c.to_user_string() for c in graph.asset_check_keys),
        "jobs": sorted(j for j in repo.job_names if not j.startswith("__")),
        "schedules": sorted(s.name for s in repo.schedule_defs),
        "sensors": sorted(s.name for s in repo.sensor_defs),
        "resources": sorted(defs.resources or {}),
        # op jobs (assets' pools are above): the recovery job's pool follows the sender mode
        "op_pools": {
            f"{j}.{node.name}": node.definition.pool
            for j in ("cart_recovery_job",)
            for node in repo.get_job(j).graph.node_dict.values()
        },
    }


def test_definitions_match_the_snapshot(vendor_env_for):
    vendor_env_for("http://127.0.0.1:9")
    from marketing_pipeline.definitions import defs

    current = describe(defs)
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())
