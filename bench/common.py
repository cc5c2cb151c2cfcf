"""What the timing scripts share: an offline environment, timed subprocesses, the student."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def timed(cmd: list[str], log: Path) -> float:
    """Run `cmd` with its output in `log`; its wall seconds, or exit naming the log on failure."""
    start = time.perf_counter()
    with log.open("w") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=ENV).returncode
    seconds = time.perf_counter() - start
    if rc != 0:
        sys.exit(f"error: {' '.join(Path(c).name for c in cmd[:4])} exited {rc}; see {log}")
    return seconds


def student(model: str | None, store: str | None) -> str:
    """`model`, or the synthetic preset's student, built in `store` the first time (~4 min)."""
    if model:
        return model
    from harness.config import resolve_run_config
    from harness.store import RunStore
    from harness.synth.world import resolve_student

    cfg = resolve_run_config("synthetic")
    return resolve_student(cfg.student.model, cfg.world, RunStore(store))


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
