"""Orchestration of a run: plan, unit execution, process pool, Dask, group report, publication."""
