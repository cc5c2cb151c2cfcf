"""Trainer checkpoints: claimed by one run's inputs, resumed only when complete."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def claim_checkpoints(ckpt_dir: Path, run_id: str) -> None:
    """Drop checkpoints a killed run with other inputs left here, then mark these as `run_id`'s."""
    marker = ckpt_dir / "run_id"
    if os.environ.get("RANK", "0") != "0":
        return
    if ckpt_dir.is_dir() and not (marker.is_file() and marker.read_text().strip() == run_id):
        shutil.rmtree(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(run_id + "\n")


def last_complete_checkpoint(ckpt_dir: Path) -> str | None:
    """The newest checkpoint with its trainer state written; torn ones (killed mid-save) are removed."""
    if not ckpt_dir.is_dir():
        return None
    steps = sorted((p for p in ckpt_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
                   key=lambda p: int(p.name.split("-")[-1]), reverse=True)
    for path in steps:
        if _readable_json(path / "trainer_state.json"):  # written after weights, optimizer and RNG; not atomically
            return str(path)
        if os.environ.get("RANK", "0") == "0":  # under accelerate, one process cleans up
            shutil.rmtree(path, ignore_errors=True)
    return None


def _readable_json(path: Path) -> bool:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True
