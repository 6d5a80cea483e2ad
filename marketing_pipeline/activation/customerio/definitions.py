"""Customer.io activation: its assets and jobs. The ``customerio`` resource is the ingestion's (the
default brand's); each run takes its brand's workspace from it. ``defs`` is built when asked for."""

import dagster as dg

from marketing_pipeline.activation.customerio import jobs


def __getattr__(name: str):
    if name == "defs":
        return dg.Definitions(assets=[jobs.build()], jobs=jobs.JOBS)
    raise AttributeError(name)
