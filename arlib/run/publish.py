"""A run is a unit: built in its own folder, published for a close in one atomic step.

Layout under the output root::

    .runs/<as_of>/<run_id>/       one folder per run: units, group report, index, manifest
    .runs/<as_of>/.lock           held by the run building that close (a second run is refused)
    <as_of> -> .runs/<as_of>/<run_id>   the published run of the close: a symlink, swapped by rename

A reader of ``<as_of>/`` sees one whole run, never a mix: the run folder is written completely
(its ``manifest.json`` last) before the symlink is replaced with ``os.replace``, which is atomic.
A run that is killed, fails to write (disk full, read-only) or is refused leaves the published
run as it was; its unfinished folder is removed by the next run of the close, which says so.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from arlib.errors import ArlibError

RUNS = ".runs"
MANIFEST = "manifest.json"
#: complete runs of a close kept besides the published one (older ones are removed)
KEEP_RUNS = 3


class RunError(ArlibError):
    """The run could not start or be published; nothing published was changed."""


def new_run_id(now: datetime | None = None) -> str:
    """A run id: UTC start time and a random suffix, e.g. ``20261123T210233Z-4f9a1c``.

    >>> new_run_id(datetime(2026, 11, 23, 21, 2, 33, tzinfo=UTC))[:17]
    '20261123T210233Z-'
    """
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class CloseRun:
    """One run of one close: where it builds, and where it is published."""

    root: Path  # output root
    as_of: str
    run_id: str

    @property
    def close_dir(self) -> Path:
        """The runs of this close and their lock."""
        return self.root / RUNS / self.as_of

    @property
    def folder(self) -> Path:
        """Where this run builds (and, once published, what ``<as_of>`` points to)."""
        return self.close_dir / self.run_id

    @property
    def published(self) -> Path:
        return self.root / self.as_of


def published_run(root: Path, as_of: str) -> Path | None:
    """The folder of the run published for ``as_of``, if any (a legacy plain folder counts)."""
    link = Path(root) / as_of
    if link.is_symlink():
        target = link.resolve()
        return target if target.is_dir() else None
    return link if link.is_dir() else None


def read_manifest(folder: Path | None) -> dict:
    """A run folder's manifest, or ``{}`` when it has none or it cannot be read (never raises)."""
    if folder is None:
        return {}
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def close_lock(root: Path, as_of: str, run_id: str):
    """Hold the close's lock while the run builds and publishes; a second run of the same close
    is refused with one message. The lock is the operating system's (``flock``): a killed run
    releases it with its process."""
    folder = Path(root) / RUNS / as_of
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another process"
            raise RunError(
                f"close {as_of} is being run right now ({holder}); wait for that run to finish, "
                "then run again. Nothing was changed"
            ) from None
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"run {run_id}, pid {os.getpid()}, started {started}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def leftovers(close: CloseRun) -> list[str]:
    """Remove the folders of earlier runs of this close that never published (killed, crashed,
    disk full) and complete runs beyond :data:`KEEP_RUNS`; return one line per unfinished run.
    Call with the close's lock held."""
    current = published_run(close.root, close.as_of)
    # runs the published index links to (a failed unit's last complete reports) are kept
    linked = {
        (u.get("last_complete") or {}).get("run_id")
        for u in read_manifest(current).get("units", [])
    }
    notes, complete = [], []
    for d in sorted(p for p in close.close_dir.iterdir() if p.is_dir() and p != close.folder):
        if current is not None and d.resolve() == current.resolve():
            continue
        if (d / MANIFEST).exists() or d.name.startswith("legacy-"):  # legacy: the earlier layout's
            complete.append(d)
            continue
        notes.append(
            f"run {d.name} of close {close.as_of} did not finish (killed or stopped); "
            "its unpublished files were removed"
        )
        shutil.rmtree(d, ignore_errors=True)
    for d in complete[: max(len(complete) - KEEP_RUNS, 0)]:
        if d.name not in linked:
            shutil.rmtree(d, ignore_errors=True)
    return notes


def publish(close: CloseRun) -> Path:
    """Make this run the published one of its close: replace the ``<as_of>`` symlink in one
    rename. A plain ``<as_of>`` folder left by an earlier version is first moved into the
    close's runs (as ``legacy-…``), once."""
    link = close.published
    if link.exists() and not link.is_symlink():
        os.replace(link, close.close_dir / f"legacy-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
    tmp = link.with_name(f".{close.as_of}.{close.run_id}.link")
    tmp.unlink(missing_ok=True)
    os.symlink(Path(RUNS) / close.as_of / close.run_id, tmp, target_is_directory=True)
    os.replace(tmp, link)
    return link
