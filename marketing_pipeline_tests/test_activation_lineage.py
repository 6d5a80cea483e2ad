"""Activation sits downstream of the model in the asset graph, and its code reads no raw table."""

import re
from pathlib import Path

import dagster as dg

import marketing_pipeline.activation as activation_pkg

# What each sync sends comes from these model assets (core and marts), never from raw ingest.
READS_THE_MODEL = {
    "klaviyo_profile_sync": {"core_customers", "core_orders", "customer_segments"},
    "klaviyo_order_event_sync": {"core_orders"},
    "klaviyo_list_sync": {"customer_segments", "core_customers"},
    "klaviyo_subscription_sync": {"core_customers"},
    "customerio_segment_sync": {"customer_segments", "core_customers"},
    "customerio_order_events": {"core_orders"},
}
# Assets that write ops.suppressions: consent_sync reads consent (ops), not their raw tables.
SUPPRESSION_WRITERS = {"klaviyo_profiles", "customerio_deliveries", "sendgrid_suppressions"}


def _graph(vendor_env_for):
    vendor_env_for("http://127.0.0.1:9")
    from marketing_pipeline.definitions import defs

    return defs.resolve_asset_graph(), {s.key: s.tags.get("layer") for s in defs.resolve_all_asset_specs()}


def test_every_sync_is_downstream_of_core_and_marts_which_are_downstream_of_raw(vendor_env_for):
    graph, layer = _graph(vendor_env_for)
    for name, model_assets in READS_THE_MODEL.items():
        key = dg.AssetKey(name)
        todo, seen = [key], set()
        while todo:  # every ancestor, walking the graph's parent edges
            for parent in graph.get(todo.pop()).parent_keys:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        ancestors = {k.to_user_string() for k in seen}
        assert model_assets <= ancestors, (name, model_assets - ancestors)
        assert "customer_segments" in ancestors or "core_orders" in ancestors, name
        # raw is further up, through the model: no sync takes a raw asset as a direct parent
        parents = graph.get(key).parent_keys
        assert not [p for p in parents if layer.get(p) == "raw"], (name, parents)
        assert any(layer.get(k) == "raw" for k in seen), name


def test_consent_sync_depends_only_on_what_records_consent(vendor_env_for):
    graph, _ = _graph(vendor_env_for)
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey("consent_sync")).parent_keys}
    assert parents == SUPPRESSION_WRITERS


def test_no_activation_module_reads_a_raw_table():
    root = Path(activation_pkg.__file__).parent
    offenders = [
        f"{path.relative_to(root)}: {m.group(0)}"
        for path in root.rglob("*.py")
        for m in re.finditer(r"\braw\.[a-z_]+", path.read_text())
    ]
    assert offenders == []
    assert not (root / "warehouse_orders.py").exists()
