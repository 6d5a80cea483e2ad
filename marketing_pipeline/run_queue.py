"""The run queue per brand: every run of a brand's partitions carries the tag ``brand``, which
dagster.yaml limits per value (``applyLimitPerUniqueValue``), so one brand's backfill never holds
every run slot and another brand's refresh still starts.

Dagster tags a run of one brand × day key with ``dagster/partition/brand``, but a backfill's batched
runs carry only their range (``dagster/asset_partition_range_start``/``_end``). The coordinator adds
``brand`` when a run is queued, from whichever of these it has; the daemon's queue then counts it.
A run over several brands (refused by the ingestion assets) gets no tag.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import DagsterRun, QueuedRunCoordinator, SubmitRunContext

BRAND_TAG = "brand"
_PARTITION = "dagster/partition"
_DIMENSION = "dagster/partition/brand"
_RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def brand_of_run(tags: Mapping[str, str], brand_ids: tuple[str, ...] = ()) -> str | None:
    """The one brand a run's partition tags name (brand × day keys, or a key that is a brand id)."""
    if tags.get(_DIMENSION):
        return tags[_DIMENSION]
    start, end = (tags.get(t) for t in _RANGE)
    if start and end:
        first, last = (_brand_of_key(k, brand_ids) for k in (start, end))
        return first if first is not None and first == last else None
    return _brand_of_key(tags.get(_PARTITION, ""), brand_ids)


def _brand_of_key(key: str, brand_ids: tuple[str, ...]) -> str | None:
    if "|" in key:
        return key.partition("|")[0]
    return key if key in brand_ids else None


class BrandRunCoordinator(QueuedRunCoordinator):
    """dagster.yaml's run coordinator: the queued coordinator, tagging each run with its brand."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        brand = brand_of_run(run.tags, _brand_ids())
        if brand and run.tags.get(BRAND_TAG) != brand:
            self._instance.add_run_tags(run.run_id, {BRAND_TAG: brand})
            run = self._instance.get_run_by_id(run.run_id) or run
            context = SubmitRunContext(run, context.workspace)
        return super().submit_run(context)


def _brand_ids() -> tuple[str, ...]:
    try:
        from marketing_pipeline.settings import brands as brand_settings

        return brand_settings.load().ids
    except Exception:  # a daemon with a broken brands file still queues runs, untagged
        return ()
