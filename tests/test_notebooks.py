"""Notebooks: committed clean, parameters declared with type and help, params files valid."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT

from arlib.config import (
    declared_parameters,
    parse_parameters_cell,
    unit_files,
    unit_params,
    validate,
)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PARAM_FILES = unit_files([ROOT / "params"] + [d for d in (ROOT / "params").iterdir() if d.is_dir()])


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_committed_without_outputs_and_without_logic(nb):
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    for c in code:  # notebooks narrate and call; arlib computes
        src = "".join(c["source"])
        assert not re.search(r"^\s*(def|class|for|while)\b", src, re.M), src


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_line_declares_type_and_help(nb):
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    lines = [
        ln
        for ln in "".join(tagged[0]["source"]).splitlines()
        if ln.strip() and not ln.strip().startswith("#")
    ]
    params = parse_parameters_cell("\n".join(lines))
    assert len(params) == len(lines), "every line must read `name: type = default  # help`"
    assert all(p.help for p in params), [p.name for p in params if not p.help]


def test_shared_parameters_agree_across_notebooks():
    """A parameter declared by several notebooks has one type and one default."""
    seen = {}
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        src = "".join(
            "".join(c["source"])
            for c in cells
            if "parameters" in c.get("metadata", {}).get("tags", [])
        )
        for p in parse_parameters_cell(src, nb.stem):
            if p.name in seen:
                assert (p.type, p.default) == seen[p.name][:2], (
                    f"{p.name}: {nb.stem} vs {seen[p.name][2]}"
                )
            seen.setdefault(p.name, (p.type, p.default, nb.stem))


@pytest.mark.parametrize("unit_file,defaults", PARAM_FILES, ids=lambda x: getattr(x, "stem", ""))
def test_params_file_validates_against_notebook_parameters(unit_file, defaults):
    if unit_file is None:
        return
    cfg = validate(unit_params(unit_file, defaults), str(unit_file))
    assert cfg["business_unit"] and set(cfg) <= set(declared_parameters())


def test_papermill_help_lists_parameters_with_help():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            "--help-notebook",
            str(ROOT / "notebooks" / "health.ipynb"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert 'as_of: str (default "2026-10-31")' in out.replace("'", '"')
    assert "close date of the report" in out and "window_months: int" in out


def test_readme_documents_every_parameter():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in declared_parameters() if f"| `{name}` |" not in readme]
    assert not missing, f"README parameter table lacks {missing}"


def test_readme_layout_lists_every_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    layout = layout[: layout.index("```", layout.index("```") + 3)]
    modules = [
        p.relative_to(ROOT / "arlib")
        for p in (ROOT / "arlib").rglob("*.py")
        if p.name != "__init__.py"
    ]
    # each module stands on a line of its own under its package's folder line
    missing = [
        str(m)
        for m in modules
        if not any(
            line.strip().startswith(m.name) or f" {m.name}," in line for line in layout.splitlines()
        )
        or (len(m.parts) > 1 and f"  {m.parts[0]}/" not in layout)
    ]
    # a sub-package (report/plots/) is listed by its folder
    missing = [m for m in missing if not (m.count("/") > 1 and f"  {m.split('/')[1]}/" in layout)]
    assert not missing, f"README layout lacks {missing}"


def test_every_cell_has_a_unique_id():
    """nbformat 4.5 cells carry ids; a cell without one makes papermill print a warning into
    every run's output."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        ids = [c.get("id") for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]
        assert all(ids) and len(set(ids)) == len(ids), path.name
