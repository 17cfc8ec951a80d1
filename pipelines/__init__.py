"""ecolake pipelines: ingest, contracts, standards and the Dagster code location."""
