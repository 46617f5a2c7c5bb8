"""Runner mechanics: where a unit's notebooks are found, failures that never reach a notebook,
dead pool workers, returned files, and the kernel set-up line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from arlib.run import pool, runner
from arlib.run.runner import UnitJob, UnitResult


def _job(bu="aa", notebooks=("health",), root=ROOT, params=None) -> UnitJob:
    nbs = tuple(str(Path(root) / "notebooks" / f"{n}.ipynb") for n in notebooks)
    return UnitJob(
        bu, "2026-10-31", params or {"business_unit": bu}, f"params/{bu}.yaml", nbs, str(root)
    )


def test_notebooks_are_found_as_planned_when_they_exist_here():
    paths, cwd = runner._locate(_job())
    assert paths == [ROOT / "notebooks" / "health.ipynb"] and cwd == str(ROOT)


def test_a_worker_without_the_clients_paths_uses_its_own_project_folder(monkeypatch):
    monkeypatch.setenv("ARLIB_HOME", str(ROOT))
    paths, cwd = runner._locate(_job(root="/nowhere/client/checkout"))
    assert paths == [ROOT / "notebooks" / "health.ipynb"] and cwd == str(ROOT)


def test_a_unit_whose_notebooks_are_nowhere_fails_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("ARLIB_HOME", str(tmp_path))
    res = runner.run_unit(_job(notebooks=("nosuch",), root="/nowhere"))
    assert res.status == "failed" and res.reports == []
    assert "['nosuch.ipynb'] not found under" in res.errors[0] and "ARLIB_HOME" in res.errors[0]
    # a failed unit leaves no figures that could pass for current: only the reason
    assert (
        set(res.files) == {"FAILED.txt"} and "not found under" in res.files["FAILED.txt"].decode()
    )
    kpis = res.kpis
    assert (kpis["as_of"], kpis["business_unit"], kpis["audit"]["business_unit"]) == (
        "2026-10-31",
        "aa",
        "aa",
    )


def _exit_on_bb(job: UnitJob, workdir: str) -> UnitResult:
    if job.business_unit == "bb":
        os._exit(3)  # the worker process dies, as if killed or out of memory
    return UnitResult(job.business_unit, job.as_of)


def test_a_dying_pool_worker_fails_its_unit_only(tmp_path):
    jobs = [_job("aa"), _job("bb"), _job("cc")]
    res = pool.run_jobs(jobs, tmp_path, n_jobs=2, progress=False, task=_exit_on_bb)
    assert [(r.business_unit, r.status) for r in res] == [
        ("aa", "ok"),
        ("bb", "failed"),
        ("cc", "ok"),
    ]
    assert res[1].errors == ["worker process died while running it (killed, or out of memory)"]


def _manifest(folder: Path, durations: dict) -> None:
    folder.mkdir(parents=True)
    units = [{"business_unit": bu, "duration_s": d} for bu, d in durations.items()]
    (folder / "manifest.json").write_text(json.dumps({"units": units}))


def test_pool_starts_units_longest_first_by_their_last_run(tmp_path):
    jobs = [_job(bu) for bu in ("aa", "bb", "cc", "dd", "ee")]
    _manifest(tmp_path / "2026-09-30", {"aa": 5.0, "bb": 40.0, "cc": 20.0, "dd": 99.0})
    _manifest(tmp_path / "2026-10-31", {"aa": 30.0})  # a rerun of this as_of: its own figure wins
    _manifest(tmp_path / "2026-11-30", {"cc": 500.0})  # a later close is not history
    (tmp_path / "2026-08-31").mkdir()  # a folder without a manifest is skipped
    assert pool.previous_durations(tmp_path, jobs) == {
        "aa": 30.0,
        "bb": 40.0,
        "cc": 20.0,
        "dd": 99.0,
    }
    # ee never ran: first (size unknown), then 99, 40, 30, 20
    assert [j.business_unit for j in pool.longest_first(jobs, tmp_path)] == [
        "ee",
        "dd",
        "bb",
        "aa",
        "cc",
    ]
    assert [j.business_unit for j in pool.longest_first(jobs, tmp_path / "none")] == [
        "aa",
        "bb",
        "cc",
        "dd",
        "ee",
    ]


def test_progress_returns_results_in_job_order():
    jobs = [_job("aa"), _job("bb"), _job("cc")]
    done = pool.Progress(3, enabled=False)
    for bu in ("cc", "aa", "bb"):
        done(UnitResult(bu, "2026-10-31"))
    assert [r.business_unit for r in done.close(jobs)] == ["aa", "bb", "cc"]


def test_write_files_writes_nested_files_and_frees_them(tmp_path):
    res = UnitResult("aa", "2026-10-31", files={"kpis.json": b"{}", "exports/w.csv": b"a,b\n"})
    runner.write_files(res, tmp_path / "aa")
    assert (tmp_path / "aa" / "exports" / "w.csv").read_bytes() == b"a,b\n" and res.files == {}


def test_kernel_setup_marks_the_module_absent_and_binds_no_name(monkeypatch):
    monkeypatch.delitem(sys.modules, "rfc3987_syntax", raising=False)
    ns: dict = {}
    exec(runner._KERNEL_SETUP, ns)
    assert set(ns) == {"__builtins__"} and sys.modules["rfc3987_syntax"] is None
    assert runner.KERNEL_ARGS[0].startswith("--IPKernelApp.exec_lines=")


@pytest.mark.slow
def test_kernels_started_by_the_runner_skip_the_slow_import(tmp_path):
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "c",
                "metadata": {},
                "outputs": [],
                "source": "import sys\nprint(sys.modules.get('rfc3987_syntax', 'not imported'))",
            }
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "probe.ipynb").write_text(json.dumps(nb))
    out, exc = runner._execute(tmp_path / "probe.ipynb", tmp_path / "out.ipynb", {}, str(tmp_path))
    assert exc is None and out.cells[0].outputs[0]["text"].strip() in ("None", "not imported")


def _worker_state(_: int) -> dict:
    import sys as _sys

    return {
        "warm": runner._warm,
        "papermill": "papermill" in _sys.modules,
        "threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "pid": os.getpid(),
    }


@pytest.mark.slow
def test_pool_workers_are_forked_warm_from_a_prestarted_fork_server():
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import forkserver

    pool.prestart_pool(2)
    server = forkserver._forkserver._forkserver_pid
    assert server is not None  # started before any unit is submitted
    with ProcessPoolExecutor(2, mp_context=pool._pool_context()) as executor:  # no initializer
        states = list(executor.map(_worker_state, range(4)))
    # each worker is warm without having warmed itself: the flag was set in the fork server
    assert all(s["warm"] and s["papermill"] and s["threads"] == "1" for s in states)
    assert forkserver._forkserver._forkserver_pid == server  # the same server, not a new one
    assert not runner._warm  # this (client) process itself was left alone


def test_one_job_starts_no_fork_server(monkeypatch):
    from multiprocessing import forkserver

    calls = []
    monkeypatch.setattr(forkserver, "ensure_running", lambda: calls.append(1))
    pool.prestart_pool(1)
    assert calls == []
    pool.prestart_pool(2)
    assert calls == [1]


def test_kpis_collected_from_a_notebook_are_plain_json_types():
    """A unit's result travels from a pool worker to the client by pickle: nbformat's dict
    subclass in it made the client import nbformat (and compile a grammar) while every worker
    waited for its next unit."""
    import pickle
    import subprocess

    import nbformat

    from arlib.report.records import KPI_MIME, collect_kpis

    nb = nbformat.from_dict(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "source": "",
                    "metadata": {},
                    "execution_count": 1,
                    "outputs": [
                        {
                            "output_type": "display_data",
                            "metadata": {},
                            "data": {KPI_MIME: {"aging": {"current": 1.5}, "n": [1, 2]}},
                        }
                    ],
                },
                {
                    "cell_type": "code",
                    "source": "",
                    "metadata": {},
                    "execution_count": 2,
                    "outputs": [
                        {
                            "output_type": "display_data",
                            "metadata": {},
                            "data": {KPI_MIME: '{"dso": 41.2}'},
                        }
                    ],
                },
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )
    assert (
        type(nb.cells[0].outputs[0].data[KPI_MIME]) is not dict
    )  # the test's premise: a NotebookNode
    kpis = collect_kpis(nb)
    assert (
        kpis == {"aging": {"current": 1.5}, "n": [1, 2], "dso": 41.2}
        and type(kpis["aging"]) is dict
    )
    blob = pickle.dumps(UnitResult("aa", "2026-10-31", kpis=kpis)).hex()
    code = f"import pickle, sys; pickle.loads(bytes.fromhex('{blob}')); print('nbformat' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("imported_first", [True, False])
def test_the_command_loads_with_the_system_allocator_even_after_arrow_allocated(imported_first):
    """A big unit's load peaks ~20% lower with Arrow's system allocator (issue 18): the command
    gets it whether or not Arrow was imported and had allocated before ``light_imports``."""
    first = "import pyarrow as pa; pa.array(list(range(1000)))\n" if imported_first else ""
    code = (
        "import os\nos.environ.pop('ARROW_DEFAULT_MEMORY_POOL', None)\n" + first + ""
        "from arlib.run.runner import light_imports\nlight_imports()\n"
        "import pyarrow as pa\nprint(pa.default_memory_pool().backend_name)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "system"
