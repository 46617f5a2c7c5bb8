"""Run business units on a Dask distributed cluster: ``arlib run --scheduler ADDRESS``.

Each unit is one task, :func:`arlib.run.runner.run_unit` without a work folder: the worker runs the
unit's notebooks in a temporary folder and sends every file back (executed notebooks, HTML,
``kpis.json``, exports) inside the result. Workers never write the outputs, so they need no
shared disk with the client; the client writes each unit's files as its result arrives, then the
manifest and index, exactly as a local run does. Progress, exit code and failure handling are
the local run's: a failing notebook fails its unit only, and a unit whose worker died or whose
task was lost is failed with the reason.

What each side needs
--------------------
client
    the params and notebooks (it plans the units) and the output folder.
workers
    the same Python environment (arlib and the notebook stack), the project folder (set
    ``ARLIB_HOME`` when the worker does not start in it: notebooks are found there when the
    client's paths do not exist on the worker), and access to the data ``source`` (a database
    URL, or files at a path valid on the worker).
"""

from __future__ import annotations

from asyncio import CancelledError as AsyncCancelled
from concurrent.futures import CancelledError
from pathlib import Path

from arlib.errors import ConfigError
from arlib.run.pool import Progress
from arlib.run.runner import (
    UnitJob,
    UnitResult,
    _error_line,
    failed,
    run_unit,
    unit_dir,
    write_files,
)


def connect(scheduler, timeout: float = 20):
    """A ``dask.distributed.Client`` for an address (``tcp://host:8786``) or a cluster object."""
    from dask.distributed import Client

    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise ConfigError(
            "--scheduler",
            f"cannot reach the Dask scheduler at {scheduler} ({e}). Fix: start "
            "one with `dask scheduler` and workers with `dask worker ADDRESS`, or check the address",
        ) from None


def _task_key(job: UnitJob) -> str:
    return f"arlib-unit-{job.as_of}-{job.business_unit}"


def run_jobs(
    jobs: list[UnitJob], out_root: Path, scheduler, progress: bool = True, task=run_unit
) -> list[UnitResult]:
    """Run every unit as a task on the cluster at ``scheduler`` (address, cluster or ``Client``);
    write each unit's files under ``out_root/<as_of>/<unit>/`` as it finishes; results in job order.

    ``task(job) -> UnitResult`` runs one unit on a worker (default :func:`arlib.run.runner.run_unit`).
    """
    from dask.distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else connect(scheduler)
    done = Progress(len(jobs), progress)
    try:
        futures = {client.submit(task, job, key=_task_key(job), pure=False): job for job in jobs}
        for fut in as_completed(futures):
            job = futures[fut]
            done(_collect(fut, job, unit_dir(out_root, job)))
    finally:
        if client is not scheduler:
            client.close()
    return done.close(jobs)


def _collect(fut, job: UnitJob, unit_dir: Path) -> UnitResult:
    """The unit's result with its files written on the client; a lost or crashed task -> failed."""
    try:
        res = fut.result()
    except (
        Exception,
        CancelledError,
        AsyncCancelled,
    ) as e:  # worker died (KilledWorker), task lost
        return failed(job, f"Dask task {fut.key}: {_error_line(e)}")
    finally:
        fut.release()
    unit_dir.mkdir(parents=True, exist_ok=True)
    write_files(res, unit_dir)
    return res
