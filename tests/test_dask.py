"""The Dask path: the same outputs as a local run, failures contained, results written by the client."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from conftest import ROOT, demo_params

from arlib.run import distributed, pool, runner
from arlib.run.plan import plan_jobs

pytestmark = pytest.mark.slow
AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def cluster():
    dask = pytest.importorskip("dask")
    from dask.distributed import LocalCluster

    # a crash fails its task at once; one task per worker, so no other task shares its fate
    with dask.config.set(
        {
            "distributed.scheduler.allowed-failures": 0,
            "distributed.scheduler.worker-saturation": 1.0,
        }
    ):
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as c:
            yield c


@pytest.fixture(scope="module")
def params(tmp_path_factory, small_demo):
    # zz: no such unit in the data, must fail alone
    units = {
        "aa": "currency: EUR\n",
        "bb": "currency: CNY\ntrend_months: 12\n",
        "zz": "currency: EUR\n",
    }
    return demo_params(tmp_path_factory.mktemp("dask"), small_demo, units, AS_OF)


@pytest.fixture(scope="module")
def jobs(params):
    return plan_jobs([str(params)], None, None, ["health"])[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, jobs, cluster):
    tmp = tmp_path_factory.mktemp("runs")
    local = pool.run_jobs(jobs, tmp / "local", 1, progress=False)
    remote = distributed.run_jobs(jobs, tmp / "dask", cluster.scheduler_address, progress=False)
    return local, remote, tmp


def test_same_statuses_and_errors_as_local(runs):
    local, remote, _ = runs
    assert [(r.business_unit, r.status) for r in remote] == [
        ("aa", "ok"),
        ("bb", "ok"),
        ("zz", "failed"),
    ]
    assert [(r.business_unit, r.status, r.errors) for r in remote] == [
        (r.business_unit, r.status, r.errors) for r in local
    ]
    assert remote[2].errors[0].startswith("data: ") and "'zz'" in remote[2].errors[0]


@pytest.mark.parametrize("bu", ["aa", "bb"])
def test_kpis_identical_to_local_run(runs, bu):
    _, _, tmp = runs
    local = json.loads((tmp / "local" / AS_OF / bu / "kpis.json").read_text())
    remote = json.loads((tmp / "dask" / AS_OF / bu / "kpis.json").read_text())
    for k in (
        local,
        remote,
    ):  # when and from which commit: differ between two runs, not between paths
        assert k["audit"].pop("generated_at") and k["audit"].pop("git_commit")
    assert remote == local and remote["open_ar"] > 0


def test_client_writes_every_file_the_local_run_writes(runs):
    _, remote, tmp = runs
    for bu in ("aa", "bb", "zz"):

        def names(root):
            return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

        assert names(tmp / "dask" / AS_OF / bu) == names(tmp / "local" / AS_OF / bu)
    # the failed unit's data never loaded: only the reason is left
    assert names(tmp / "dask" / AS_OF / "zz") == ["FAILED.txt"]
    assert all(r.files == {} for r in remote)  # written, then dropped from memory


def test_a_worker_that_dies_fails_its_unit_only(tmp_path, jobs, cluster):
    def crash_on_bb(job):
        if job.business_unit == "bb":
            time.sleep(2)  # the other units go to the other worker meanwhile
            os._exit(1)
        return runner.UnitResult(job.business_unit, job.as_of, files={"kpis.json": b"{}"})

    res = distributed.run_jobs(
        jobs, tmp_path, cluster.scheduler_address, progress=False, task=crash_on_bb
    )
    assert [r.status for r in res] == ["ok", "failed", "ok"]
    assert "KilledWorker" in res[1].errors[0] and "bb" in res[1].errors[0]
    assert (tmp_path / AS_OF / "aa" / "kpis.json").read_bytes() == b"{}"


def test_unreachable_scheduler_is_one_clear_error(jobs, tmp_path):
    from arlib.errors import ConfigError

    with pytest.raises(
        ConfigError, match="--scheduler: cannot reach the Dask scheduler at tcp://127.0.0.1:1"
    ):
        distributed.connect("tcp://127.0.0.1:1", timeout=2)


def test_cli_scheduler_option_writes_manifest_index_and_exit_code(params, cluster, tmp_path):
    cmd = [
        str(ROOT / ".venv/bin/arlib") if (ROOT / ".venv/bin/arlib").exists() else "arlib",
        "run",
        "--params",
        str(params),
        "--bu",
        "aa",
        "zz",
        "--notebooks",
        "health",
        "--out-dir",
        str(tmp_path),
        "--scheduler",
        cluster.scheduler_address,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert any(ln.startswith("FAILED zz: data: ") for ln in proc.stderr.splitlines())
    manifest = json.loads((tmp_path / AS_OF / "manifest.json").read_text())
    assert {u["business_unit"]: u["status"] for u in manifest["units"]} == {
        "aa": "ok",
        "zz": "failed",
    }
    assert (tmp_path / AS_OF / "index.html").exists() and (
        tmp_path / AS_OF / "aa" / "health.html"
    ).exists()
