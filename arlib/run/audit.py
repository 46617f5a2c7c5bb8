"""The audit stamp of a unit's run: what ran, on what, from which code, when."""

from __future__ import annotations

from pathlib import Path


def git_commit(root: str | Path) -> str | None:
    """The project's git commit (with ``+changes`` when the tracked files differ from it)."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+changes" if dirty else "")


def audit_stamp(kpis: dict, sections: dict, root: str | Path) -> dict:
    """The audit stamp of a unit's run: run id, input fingerprint, as_of, arlib version, git
    commit, each notebook's own effective parameters (secrets redacted), and the run time (with
    the run id, the only values that differ between two runs on the same inputs)."""
    from datetime import UTC, datetime

    return {
        "run_id": kpis.get("run_id"),
        "business_unit": kpis.get("business_unit"),
        "as_of": kpis.get("as_of"),
        "input_fingerprint": kpis.get("input_fingerprint"),
        "arlib_version": kpis.get("arlib_version"),
        "git_commit": git_commit(root),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "notebooks": {
            name: {"parameters": values.get("parameters")} for name, values in sections.items()
        },
    }


def notebook_stamp(audit: dict, notebook: str) -> dict:
    """The stamp shown at the foot of one notebook's report: the unit's, with that notebook's
    own parameters."""
    own = (audit.get("notebooks") or {}).get(notebook) or {}
    return dict(
        {k: v for k, v in audit.items() if k != "notebooks"}, parameters=own.get("parameters")
    )
