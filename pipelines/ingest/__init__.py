"""Ingest: landing files → contract → raw rows, quarantined rows and one batch record per file."""
