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


def audit_stamp(kpis: dict, root: str | Path) -> dict:
    """The audit stamp of a unit's run: input fingerprint, parameters (secrets redacted), as_of,
    arlib version, git commit, and the run time (the only value that differs between two runs on
    the same inputs)."""
    from datetime import UTC, datetime

    return {
        "business_unit": kpis.get("business_unit"),
        "as_of": kpis.get("as_of"),
        "input_fingerprint": kpis.get("input_fingerprint"),
        "parameters": kpis.get("parameters"),
        "arlib_version": kpis.get("arlib_version"),
        "git_commit": git_commit(root),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
