"""A notebook that stops on an error: one line for the reader, the traceback kept in a log.

The reason shown in the manifest, the index, ``FAILED.txt`` and on stderr is one line without
absolute machine paths (:func:`arlib.redact.strip_paths`). A user mistake (an
:class:`~arlib.errors.ArlibError`) is its own message; anything else is an *unexpected error*
whose full traceback goes to ``<notebook>.error.log`` beside the report in the run folder, and
the executed notebook kept there shows the same one line instead of the traceback.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

from arlib.errors import ArlibError
from arlib.files import write_atomic
from arlib.redact import mask_urls, shown_text

LOG_SUFFIX = ".error.log"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _arlib_names() -> set[str]:
    names, todo = set(), [ArlibError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


def error_line(exc: BaseException, root: str | Path | None = None) -> str:
    """``Name: message`` of an error (a papermill error names the notebook's exception), on
    one line, paths under ``root`` relative and other absolute paths shortened, URL secrets
    masked.

    >>> error_line(FileNotFoundError("no such file: '/srv/ar/data/x.csv'"), "/srv/ar")
    "FileNotFoundError: no such file: 'data/x.csv'"
    """
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    return shown_text(f"{ename}: {evalue}", root)


def is_user_error(exc: BaseException) -> bool:
    """An :class:`ArlibError` (in this process or, by name, in the notebook's kernel)."""
    return isinstance(exc, ArlibError) or getattr(exc, "ename", None) in _arlib_names()


def traceback_text(exc: BaseException) -> str:
    """The full traceback: the kernel's (ANSI colours removed) for a notebook error."""
    lines = getattr(exc, "traceback", None)
    if lines:
        return _ANSI.sub("", "\n".join(lines)) + "\n"
    return "".join(traceback.format_exception(exc))


def notebook_failed(stem: str, exc: BaseException, out_dir: Path, root: str | Path) -> str:
    """Record a failed notebook ``stem`` in ``out_dir`` and return its one-line reason: an
    unexpected error writes ``<stem>.error.log`` (full traceback) and replaces the traceback
    in the executed notebook ``<stem>.ipynb`` by that line."""
    line = error_line(exc, root)
    if is_user_error(exc):
        return f"{stem}: {line}"
    log = f"{stem}{LOG_SUFFIX}"
    reason = f"{stem}: unexpected error {line} (the details are in {log} beside the report)"
    try:
        write_atomic(Path(out_dir) / log, mask_urls(traceback_text(exc)))
        _one_line_in_notebook(Path(out_dir) / f"{stem}.ipynb", reason)
    except OSError:  # a full disk: the reason still reaches the manifest
        pass
    return reason


def _one_line_in_notebook(path: Path, reason: str) -> None:
    import nbformat

    if not path.exists():
        return
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["traceback"] = [reason]
    write_atomic(path, nbformat.writes(nb))
