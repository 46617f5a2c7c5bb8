"""A unit's notebooks share one kernel, and each still starts from an empty namespace."""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT

from arlib.run import runner
from arlib.run.kernel import UnitKernel

pytestmark = pytest.mark.slow


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def _text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_notebooks_share_a_kernel_but_not_a_namespace(tmp_path):
    warn = "import warnings, os\nwarnings.warn('the same warning')\nprint('pid', os.getpid())"
    first = _notebook(tmp_path / "a.ipynb", "left_over = 1", warn)
    second = _notebook(
        tmp_path / "b.ipynb", "print('left_over' in globals(), 'warnings' in globals())", warn
    )
    with UnitKernel(str(ROOT), list(runner.KERNEL_ARGS)) as kernel:
        a, exc_a = runner._execute(first, tmp_path / "a_out.ipynb", {}, str(ROOT), kernel)
        b, exc_b = runner._execute(second, tmp_path / "b_out.ipynb", {}, str(ROOT), kernel)
    assert exc_a is None and exc_b is None
    pid_a = [ln for ln in _text(a).splitlines() if ln.startswith("pid")]
    pid_b = [ln for ln in _text(b).splitlines() if ln.startswith("pid")]
    assert pid_a == pid_b  # one kernel process for both
    assert "False False" in _text(b)  # nothing of the first notebook is left
    assert "the same warning" in _text(a) and "the same warning" in _text(b)  # shown again


def test_a_notebook_that_kills_its_kernel_does_not_take_the_next_one(tmp_path):
    killer = _notebook(tmp_path / "k.ipynb", "import os\nos._exit(1)")
    after = _notebook(tmp_path / "n.ipynb", "print('alive')")
    with UnitKernel(str(ROOT), list(runner.KERNEL_ARGS)) as kernel:
        _, exc = runner._execute(killer, tmp_path / "k_out.ipynb", {}, str(ROOT), kernel)
        nb, exc2 = runner._execute(after, tmp_path / "n_out.ipynb", {}, str(ROOT), kernel)
    assert exc is not None and exc2 is None and "alive" in _text(nb)
