"""Customer.io activation: its assets and jobs. The ``customerio`` resource is the ingestion's."""

import dagster as dg

from marketing_pipeline.activation.customerio import jobs

defs = dg.Definitions(assets=jobs.ASSETS, jobs=jobs.JOBS)
