"""Provenance written with every stage: config, versions, commit, seeds, times.

Nothing here records absolute paths of the user's machine: a manifest reproduces a stage
from the settings it names and the store keys of its inputs.
"""

from __future__ import annotations

import platform
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import harness

TRACKED_PACKAGES = ("torch", "transformers", "trl", "peft", "datasets", "math-verify", "vllm", "tokenizers")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def package_versions() -> dict[str, str]:
    out = {"harness": harness.__version__, "python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def git_commit() -> str | None:
    """The project's commit (with `-dirty` when the tree has changes), or None outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def build_manifest(config: Any, seeds: dict[str, int] | None = None, started: str | None = None, **extra: Any) -> dict[str, Any]:
    from harness.store import canonical

    return {
        "config": canonical(config),
        "seeds": seeds or {},
        "versions": package_versions(),
        "git_commit": git_commit(),
        "started": started or now(),
        "finished": now(),
        **extra,
    }
