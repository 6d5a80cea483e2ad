"""How a brand's partition reads the partitions of the assets it depends on.

Dagster infers a partition mapping only between identical partitionings (or a multi-partition and
one of its own dimensions). Brand-partitioned assets meet three other cases, resolved here once for
every dependency that does not name its own mapping, when the definitions are built:

- a brand partition on a brand × day asset, or the reverse, of the same brands (the segment
  snapshot on the marts, the Klaviyo syncs on the segments): the partitions of the same brand
  (``MultiToSingleDimensionPartitionMapping`` on ``brand``);
- the same where the two sets of brands differ (Customer.io's syncs, of the brands that use it, on
  every brand's segments), which no built-in mapping joins by brand, and a brand partition on a
  source still partitioned by day only (its loads are the default brand's): every partition
  (``AllPartitionMapping``), as the unpartitioned syncs and marts read their parents before. A run
  reads only its brand's warehouse either way; the mapping is what lineage and automation see (an
  update of another brand's parent can then start a brand's morning sync, never move its rows).
"""

from __future__ import annotations

import warnings

import dagster as dg

from marketing_pipeline.brand_partitions import BRAND


def _has_brand(pdef: dg.PartitionsDefinition | None) -> bool:
    if isinstance(pdef, dg.MultiPartitionsDefinition):
        return BRAND in [d.name for d in pdef.partitions_defs]
    return isinstance(pdef, dg.StaticPartitionsDefinition)


def _brands(pdef: dg.PartitionsDefinition) -> list[str]:
    if isinstance(pdef, dg.MultiPartitionsDefinition):
        pdef = pdef.get_partitions_def_for_dimension(BRAND)
    return list(pdef.get_partition_keys())


def mapping_for(
    downstream: dg.PartitionsDefinition | None, upstream: dg.PartitionsDefinition | None
) -> dg.PartitionMapping | None:
    """The mapping a brand-partitioned asset needs on its parent, or None: Dagster's default."""
    if not _has_brand(downstream) or upstream is None:
        return None
    if isinstance(upstream, dg.TimeWindowPartitionsDefinition):
        return dg.AllPartitionMapping()
    multi = (dg.MultiPartitionsDefinition,)
    if not _has_brand(upstream):
        return None
    if _brands(upstream) != _brands(downstream):
        return dg.AllPartitionMapping()
    if isinstance(upstream, multi) != isinstance(downstream, multi):
        return dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name=BRAND)
    return None


def apply(defs: dg.Definitions) -> dg.Definitions:
    """The same definitions with each brand-partitioned asset's dependencies mapped (see above)."""
    partitions: dict[dg.AssetKey, dg.PartitionsDefinition | None] = {}
    for a in defs.assets or []:
        for spec in a.specs if isinstance(a, dg.AssetsDefinition) else [a]:
            if isinstance(spec, dg.AssetSpec):
                partitions[spec.key] = spec.partitions_def

    def remap(spec: dg.AssetSpec) -> dg.AssetSpec:
        deps, changed = [], False
        for dep in spec.deps:
            mapping = dep.partition_mapping or mapping_for(spec.partitions_def, partitions.get(dep.asset_key))
            if mapping is not dep.partition_mapping:
                dep, changed = dg.AssetDep(dep.asset_key, partition_mapping=mapping), True
            deps.append(dep)
        return spec.replace_attributes(deps=deps) if changed else spec

    with warnings.catch_warnings():  # map_asset_specs is marked preview; it is the documented way
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        return defs.map_asset_specs(func=remap)
