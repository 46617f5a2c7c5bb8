"""One run, one truth: runs build in their own folder and publish a close atomically.

The units here are run by a stand-in task (no papermill) that writes what a unit writes: its
reports stamped with the data version it read, and ``kpis.json``. Every scenario asserts which
files exist, and what the index and the manifest say.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from arlib.config import check_unit_code
from arlib.errors import ConfigError
from arlib.files import write_atomic
from arlib.run import close as close_mod
from arlib.run import pool, runner
from arlib.run.close import run_closes
from arlib.run.publish import KEEP_RUNS, RunError, close_lock, published_run
from arlib.run.runner import UnitJob, UnitResult

AS_OF = "2026-10-31"


def _job(bu: str, version: str = "v1") -> UnitJob:
    return UnitJob(
        bu,
        AS_OF,
        {"business_unit": bu, "data_version": version},
        f"params/{bu}.yaml",
        (),
        str(ROOT),
    )


def fake_unit(job: UnitJob, workdir: str) -> UnitResult:
    """What a unit writes: two reports and kpis.json, all stamped with the data it read.
    ``fail`` in the params fails it after its first report."""
    out = Path(workdir)
    out.mkdir(parents=True, exist_ok=True)
    version = job.params["data_version"]
    res = UnitResult(job.business_unit, job.as_of)
    (out / "health.html").write_text(f"<p>health of {job.business_unit} from data {version}</p>")
    if job.params.get("fail"):
        res.status, res.errors = "failed", ["forecast: DataError: broken"]
        runner.scrub_failed(out, res.errors, job.run_id)
        return res
    (out / "forecast.html").write_text(
        f"<p>forecast of {job.business_unit} from data {version}</p>"
    )
    kpis = {
        "business_unit": job.business_unit,
        "as_of": job.as_of,
        "currency": "EUR",
        "open_ar": 100.0,
        "run_id": job.run_id,
        "data_version": version,
    }
    (out / "kpis.json").write_text(json.dumps(kpis))
    res.kpis, res.reports = kpis, ["health.html", "forecast.html"]
    return res


def execute(jobs, out_root):
    return pool.run_jobs(jobs, out_root, 1, progress=False, task=fake_unit)


def run(tmp_path, jobs, defined=None, group_file=None):
    defined = {AS_OF: set(defined if defined is not None else [j.business_unit for j in jobs])}
    return run_closes(jobs, tmp_path, defined, execute, group_file)


def manifest(tmp_path) -> dict:
    return json.loads((tmp_path / AS_OF / "manifest.json").read_text())


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_run_publishes_its_folder_and_names_its_id_everywhere(tmp_path):
    out = run(tmp_path, [_job("de"), _job("us")])
    link = tmp_path / AS_OF
    assert link.is_symlink() and os.readlink(link) == f".runs/{AS_OF}/{out.run_id}"
    m = manifest(tmp_path)
    assert (m["run_id"], m["status"], [u["business_unit"] for u in m["units"]]) == (
        out.run_id,
        "ok",
        ["de", "us"],
    )
    assert all(u["run_id"] == out.run_id for u in m["units"])
    assert json.loads((link / "de" / "kpis.json").read_text())["run_id"] == out.run_id
    assert out.run_id in (link / "index.html").read_text()
    assert files(link) == [
        "de/forecast.html",
        "de/health.html",
        "de/kpis.json",
        "index.html",
        "manifest.json",
        "us/forecast.html",
        "us/health.html",
        "us/kpis.json",
    ]


def test_a_second_close_run_replaces_the_first_whole(tmp_path):
    first = run(tmp_path, [_job("de", "v1")])
    second = run(tmp_path, [_job("de", "v2")])
    assert (
        manifest(tmp_path)["run_id"] == second.run_id
        and manifest(tmp_path)["replaces_run"] == first.run_id
    )
    assert "data v2" in (tmp_path / AS_OF / "de" / "health.html").read_text()
    # the first run stays whole in its own folder, for the audit trail
    assert (
        "data v1" in (tmp_path / ".runs" / AS_OF / first.run_id / "de" / "health.html").read_text()
    )


def test_a_renamed_unit_is_not_summed_twice(tmp_path):
    run(tmp_path, [_job("de"), _job("uk")])
    run(tmp_path, [_job("de"), _job("gb")])  # uk's params renamed to gb: same data
    m = manifest(tmp_path)
    assert [u["business_unit"] for u in m["units"]] == ["de", "gb"] and m["earlier_units"] == []
    assert sorted(p.name for p in (tmp_path / AS_OF).iterdir() if p.is_dir()) == ["de", "gb"]
    assert "uk" not in (tmp_path / AS_OF / "index.html").read_text()


def test_a_removed_unit_is_gone_from_the_close(tmp_path):
    run(tmp_path, [_job("de"), _job("uk")])
    run(tmp_path, [_job("de")])
    assert [u["business_unit"] for u in manifest(tmp_path)["units"]] == ["de"]
    assert not (tmp_path / AS_OF / "uk").exists()


def test_units_not_selected_are_carried_over_marked_with_their_run(tmp_path):
    first = run(tmp_path, [_job("de"), _job("uk")])
    second = run(tmp_path, [_job("de", "v2")], defined=["de", "uk"])  # arlib run --bu de
    m = manifest(tmp_path)
    assert [u["business_unit"] for u in m["units"]] == ["de"]
    assert [(u["business_unit"], u["run_id"]) for u in m["earlier_units"]] == [("uk", first.run_id)]
    assert "data v1" in (tmp_path / AS_OF / "uk" / "health.html").read_text()
    index = (tmp_path / AS_OF / "index.html").read_text()
    assert "Units from earlier runs" in index and first.run_id in index and second.run_id in index
    # carried again by a third run, it keeps the run it came from
    run(tmp_path, [_job("de", "v3")], defined=["de", "uk"])
    assert [u["run_id"] for u in manifest(tmp_path)["earlier_units"]] == [first.run_id]


def test_a_failed_rerun_leaves_no_report_that_passes_for_current(tmp_path):
    first = run(tmp_path, [_job("de", "v1")])
    bad = _job("de", "v2")
    out = run(tmp_path, [UnitJob(**{**bad.__dict__, "params": {**bad.params, "fail": True}})])
    assert [r.business_unit for r in out.failed_units] == ["de"]
    assert files(tmp_path / AS_OF / "de") == ["FAILED.txt"]  # no health.html from v2, none from v1
    entry = manifest(tmp_path)["units"][0]
    assert (entry["status"], entry["errors"], entry["last_complete"]["run_id"]) == (
        "failed",
        ["forecast: DataError: broken"],
        first.run_id,
    )
    index = (tmp_path / AS_OF / "index.html").read_text()
    href = f"../.runs/{AS_OF}/{first.run_id}/de/health.html"
    assert f'href="{href}"' in index and "last complete reports" in index
    # a browser resolves ".." in the URL (lexically), so the link reaches the earlier run's report
    assert "data v1" in Path(os.path.normpath(tmp_path / AS_OF / href)).read_text()


def test_the_last_complete_reports_stay_linked_through_repeated_failures(tmp_path):
    first = run(tmp_path, [_job("de", "v1")])
    bad = _job("de", "v2")
    failing = UnitJob(**{**bad.__dict__, "params": {**bad.params, "fail": True}})
    for _ in range(KEEP_RUNS + 2):  # more failed reruns than complete runs are kept
        run(tmp_path, [failing])
    entry = manifest(tmp_path)["units"][0]
    assert entry["status"] == "failed" and entry["last_complete"]["run_id"] == first.run_id
    assert (tmp_path / ".runs" / AS_OF / first.run_id / "de" / "health.html").exists()


def test_a_second_run_of_the_same_close_is_refused(tmp_path):
    first = run(tmp_path, [_job("de")])
    with close_lock(tmp_path, AS_OF, "20990101T000000Z-other"):  # another run holds the close
        with pytest.raises(RunError) as e:
            run(tmp_path, [_job("de", "v2")])
    assert str(e.value).startswith(
        f"close {AS_OF} is being run right now (run 20990101T000000Z-other, pid {os.getpid()}"
    )
    assert str(e.value).endswith("wait for that run to finish, then run again. Nothing was changed")
    assert manifest(tmp_path)["run_id"] == first.run_id
    assert os.listdir(tmp_path / ".runs" / AS_OF) == [".lock", first.run_id] or sorted(
        os.listdir(tmp_path / ".runs" / AS_OF)
    ) == sorted([".lock", first.run_id])


def test_a_full_disk_at_publication_keeps_the_published_run(tmp_path, monkeypatch):
    first = run(tmp_path, [_job("de", "v1")])

    def disk_full(path, value):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(close_mod, "write_json", disk_full)
    with pytest.raises(RunError) as e:
        run(tmp_path, [_job("de", "v2")])
    assert "No space left on device" in str(
        e.value
    ) and f"the published run {first.run_id} is unchanged" in str(e.value)
    assert manifest(tmp_path)["run_id"] == first.run_id
    assert "data v1" in (tmp_path / AS_OF / "de" / "health.html").read_text()
    assert sorted(os.listdir(tmp_path / ".runs" / AS_OF)) == [
        ".lock",
        first.run_id,
    ]  # nothing half-written left


def test_a_full_disk_while_a_unit_writes_its_reports_fails_that_unit(tmp_path, monkeypatch):
    from arlib.run import export

    def disk_full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(export, "write_atomic", disk_full)
    job = UnitJob("de", AS_OF, {"business_unit": "de"}, "params/de.yaml", (), str(ROOT))
    sections = {"health": {"open_ar": 1.0, "parameters": {"report_language": "en"}}}
    res = UnitResult("de", AS_OF)
    out = tmp_path / "de"
    out.mkdir()
    (out / "health.ipynb").write_text("{}")
    (out / "excel_pack.xlsx").write_text("half")
    import nbformat

    runner._finish(job, res, sections, [("health", nbformat.v4.new_notebook())], out, str(ROOT))
    assert res.status == "failed" and res.errors == [
        "could not write the reports: No space left on device (health.html)"
    ]
    assert files(out) == ["FAILED.txt", "health.ipynb"]


def test_write_atomic_leaves_no_truncated_file(tmp_path, monkeypatch):
    target = tmp_path / "manifest.json"
    target.write_text("old, whole")

    def fail(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        write_atomic(target, "new" * 1000)
    assert target.read_text() == "old, whole" and os.listdir(tmp_path) == ["manifest.json"]


def test_an_unreadable_published_manifest_does_not_break_the_next_run(tmp_path):
    run(tmp_path, [_job("de")])
    (tmp_path / AS_OF / "manifest.json").write_text('{"units": [{"business_u')  # truncated by hand
    out = run(tmp_path, [_job("de", "v2")])
    assert manifest(tmp_path)["run_id"] == out.run_id and manifest(tmp_path)["replaces_run"] is None


def test_a_plain_folder_from_the_earlier_version_is_kept_as_a_legacy_run(tmp_path):
    old = tmp_path / AS_OF / "de"
    old.mkdir(parents=True)
    (old / "health.html").write_text("old layout")
    run(tmp_path, [_job("de", "v2")])
    assert (tmp_path / AS_OF).is_symlink()
    legacy = [p for p in (tmp_path / ".runs" / AS_OF).iterdir() if p.name.startswith("legacy-")]
    assert len(legacy) == 1 and (legacy[0] / "de" / "health.html").read_text() == "old layout"
    out = run(tmp_path, [_job("de", "v3")])  # a later run neither reports nor removes it
    assert out.notes == [] and (legacy[0] / "de" / "health.html").exists()


#: a coordinator killed with SIGKILL while its second unit writes (run in a child process)
_KILLED = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
import test_run_close as t
from arlib.run.close import run_closes

def slow(job, workdir):
    res = t.fake_unit(job, workdir)
    if job.business_unit == "us":
        (Path(workdir) / "forecast.html").write_text("<p>half writ")
        Path({marker!r}).write_text("now")
        time.sleep(60)
    return res

jobs = [t._job("de", "v2"), t._job("us", "v2")]
run_closes(jobs, Path({root!r}), {{t.AS_OF: {{"de", "us"}}}}, lambda j, r: t.pool.run_jobs(j, r, 1, False, slow))
"""


def test_kill_9_mid_unit_leaves_the_published_run_whole(tmp_path):
    first = run(tmp_path, [_job("de", "v1"), _job("us", "v1")])
    marker = tmp_path / "marker"
    code = _KILLED.format(tests=str(ROOT / "tests"), marker=str(marker), root=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    for _ in range(600):
        if marker.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert marker.exists(), "the child never reached the second unit"
    # every published file still comes from one data version, with one run id
    published = tmp_path / AS_OF
    assert manifest(tmp_path)["run_id"] == first.run_id
    for f in files(published):
        if f.endswith(".html") and "/" in f:
            assert "data v1" in (published / f).read_text(), f
    # the next run says what happened and removes the unfinished folder
    out = run(tmp_path, [_job("de", "v3"), _job("us", "v3")])
    assert len(out.notes) == 1 and "did not finish (killed or stopped)" in out.notes[0]
    assert sorted(os.listdir(tmp_path / ".runs" / AS_OF)) == sorted(
        [".lock", first.run_id, out.run_id]
    )


def test_published_run_follows_the_link(tmp_path):
    out = run(tmp_path, [_job("de")])
    assert published_run(tmp_path, AS_OF) == (tmp_path / ".runs" / AS_OF / out.run_id).resolve()
    assert published_run(tmp_path, "2026-09-30") is None


@pytest.mark.parametrize(
    "code, problem",
    [
        ("../../x", "is not a safe unit code"),
        ("/tmp/x", "is not a safe unit code"),
        ("", "is not a safe unit code"),
        ("a/b", "is not a safe unit code"),
        (".hidden", "is not a safe unit code"),
        ("x..y", "is not a safe unit code"),
        ("group", "is a name the run uses itself"),
        ("Index.html", "is a name the run uses itself"),
    ],
)
def test_unsafe_and_reserved_unit_codes_are_refused_at_plan_time(tmp_path, code, problem):
    from arlib.run.plan import plan_jobs

    params = tmp_path / "params"
    params.mkdir()
    (params / "x1.yaml").write_text(f"business_unit: {json.dumps(code)}\n")
    with pytest.raises(ConfigError) as e:
        plan_jobs([str(params)], None, None, ["health"])
    assert str(e.value).startswith(
        f"{params / 'x1.yaml'}: parameter business_unit: {code!r} {problem}"
    )


def test_safe_unit_codes_pass():
    assert [check_unit_code(c) for c in ("391", "007", "de-01", "NL_02.b")] == [
        "391",
        "007",
        "de-01",
        "NL_02.b",
    ]
