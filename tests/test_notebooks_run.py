"""Every notebook runs top to bottom with its own defaults from the ``notebooks/`` folder (as
JupyterLab runs it), and writes nothing there: its files go under the project's ``outputs/``.

The project is a copy of the notebooks beside a small demo store at the default ``source``
(unit ``de``, the default ``business_unit``); no parameter is injected. The unit's three reports
run first (their figures make the ``kpis.json`` the group notebook reads from its default
``reports_dir``), then the customer and group notebooks. One kernel serves them all, cleared
between notebooks, as in a run.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from conftest import ROOT

from arlib import demo, io
from arlib.files import write_json
from arlib.report.records import collect_kpis, merge_sections
from arlib.run.kernel import UnitKernel
from arlib.run.runner import KERNEL_ARGS, _execute

pytestmark = pytest.mark.slow
AS_OF = "2026-10-31"  # the notebooks' default close
ORDER = ("health", "forecast", "provision", "customer", "group")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    project = tmp_path_factory.mktemp("lab")
    (project / "params").mkdir()
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    assert sorted(p.stem for p in (project / "notebooks").glob("*.ipynb")) == sorted(ORDER)
    small = {"de": dataclasses.replace(demo.UNITS["de"], customers=10)}
    frames = demo.generate(seed=5, units=small, start="2024-11-01", end=AS_OF)
    io.write_store(frames, project / "outputs" / "demo" / "ar_demo.sqlite")
    before = sorted(p.relative_to(project) for p in (project / "notebooks").rglob("*"))
    unit = project / "outputs" / AS_OF / "de"
    unit.mkdir(parents=True)
    results, sections = {}, {}
    cwd = str(project / "notebooks")
    with UnitKernel(cwd, list(KERNEL_ARGS)) as kernel:
        for name in ORDER:
            if name == "group":  # the unit's figures, merged as the runner merges them
                kpis = merge_sections(sections) | {"business_unit": "de", "as_of": AS_OF}
                write_json(unit / "kpis.json", kpis)
            nb_path = project / "notebooks" / f"{name}.ipynb"
            nb, exc = _execute(nb_path, unit / f"{name}.ipynb", {}, cwd, kernel)
            results[name] = (nb, exc)
            if exc is None and name in ("health", "forecast", "provision"):
                sections[name] = collect_kpis(nb)
    after = sorted(p.relative_to(project) for p in (project / "notebooks").rglob("*"))
    return project, results, before, after


@pytest.mark.parametrize("name", ORDER)
def test_notebook_runs_with_its_defaults_from_the_notebooks_folder(lab, name):
    _, results, _, _ = lab
    nb, exc = results[name]
    assert exc is None, f"{name}: {exc}"
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def test_a_run_from_the_notebooks_folder_writes_nothing_there(lab):
    project, _, before, after = lab
    assert after == before  # no outputs/scratch, no worklist with customer names
    scratch = project / "outputs" / "scratch"
    assert {"excel_pack.xlsx", "collection_worklist.csv"} <= {p.name for p in scratch.iterdir()}


def test_the_default_customer_report_is_the_worklists_first_customer(lab):
    _, results, _, _ = lab
    health = collect_kpis(results["health"][0])
    customer = collect_kpis(results["customer"][0])["customer"]
    assert customer["customer_id"] == health["customer_report_ids"][0]
    assert customer["worklist_position"] == 1
