"""The config a command runs with: the layers `harness run` reads, every section checked, method settings included.

`harness eval`, `harness train` and `python -m harness.trainer` read --preset, --config and
--set like `harness run`, but start from the dataclass defaults when no preset or file is
named (they take any model, not the synthetic world's). A setting a command does not use is
still checked: a bad value is one line before anything runs, whichever command it was given to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config import RunConfig, TrainConfig, merge, nested, parse_override, resolve_run_config
from harness.errors import HarnessError
from harness.method_runs import resolve_methods


def resolve_checked(preset: str | None, config_file: str | Path | None, overrides: list[dict[str, Any]],
                    base_preset: str | None = None) -> RunConfig:
    """`resolve_run_config`, then `method.name` with `method.params` parsed as `harness run` would."""
    cfg = resolve_run_config(preset, config_file, overrides, base_preset)
    resolve_methods(cfg, [cfg.method.name])
    return cfg


def train_config_from(overrides: list[str], lora: bool = False, preset: str | None = None,
                      config: str | Path | None = None) -> TrainConfig:
    """The `train` section for `harness train`: `--set KEY=VALUE` texts on the layers, `--lora` on top."""
    layers = [parse_override(text) for text in overrides]
    if lora:
        merged: dict[str, Any] = {}
        for layer in layers:
            merged = merge(merged, layer)
        train = merged.get("train")
        use_lora = train.get("use_lora") if isinstance(train, dict) else None
        if use_lora is not None and str(use_lora).lower() not in ("true", "1", "yes"):
            raise HarnessError(f"--lora conflicts with --set train.use_lora={use_lora}")
        layers.append(nested("train.use_lora", True))
    return resolve_checked(preset, config, layers).train
