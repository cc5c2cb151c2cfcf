"""The bad-input corpus for `bench/bad_input.py`: what a case is, and the helpers cases share.

The cases themselves are in `bad_input_cases_data.py` (harness score, harness eval: data
files and evaluation flags), `bad_input_cases_pipeline.py` (harness run, train and
teacher: configs, overrides, training and teacher data) and `bad_input_cases_config.py`
(config values any command reads: greedy sampling asked for several samples, YAML that
cannot be held); importing them registers them in
`CASES`. Each case writes what it needs under `ctx.work` and returns the `harness` arguments (the
runner adds `--store`). `needles` are fragments the one-line error must contain, so that
an error which names the wrong problem does not pass. Cases that could reach a model use
`ctx.model`, a real loadable folder, so that the error seen is the one the case is about.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Ctx:
    work: Path       # the case's own temporary folder
    store: Path      # the case's own run store
    json_out: Path   # a --json path that must not exist afterwards
    out_dir: Path    # a training --output-dir that must not hold a model afterwards
    model: Path      # a loadable tiny model folder (shared, read-only)

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def jsonl(self, name: str, rows: list) -> Path:
        return self.write(name, "".join(json.dumps(r) + "\n" for r in rows))


@dataclass
class Spec:
    argv: list[str] = field(default_factory=list)
    skip: str = ""   # a reason when the case cannot be built honestly on this machine
    note: str = ""   # how the case was built when that depends on the machine
    own_store: bool = False  # the case gives its own (bad) --store; the runner adds none


@dataclass
class Case:
    name: str
    what: str
    needles: tuple[str, ...]
    build: Callable[[Ctx], Spec]


CASES: list[Case] = []


def case(name: str, what: str, *needles: str):
    def decorator(fn: Callable[[Ctx], list[str] | Spec]) -> Callable:
        def build(ctx: Ctx) -> Spec:
            out = fn(ctx)
            return out if isinstance(out, Spec) else Spec(out)

        CASES.append(Case(name, what, needles, build))
        return fn

    return decorator


def unreadable(ctx: Ctx, name: str, text: str) -> tuple[Path, str]:
    """A file the harness cannot read: chmod 000, or a folder in its place when chmod cannot stop us (root).

    Returns the path and a note saying which, so a root run does not claim to have tested chmod.
    """
    path = ctx.write(name, text)
    os.chmod(path, 0)
    try:
        path.read_bytes()
    except PermissionError:
        return path, "chmod 000"
    os.chmod(path, 0o644)  # running as root: permissions do not stop reads
    path.unlink()
    path.mkdir()
    return path, "root: chmod 000 does not stop reads, so a folder stands where the file is expected"


GOOD_SCORE = {"id": "p1", "answer": "7", "outputs": ["The answer is \\boxed{7}."]}
GOOD_SFT = {"prompt": "What is 3 + 4?", "completion": "3 + 4 = 7. The answer is \\boxed{7}."}
GOOD_PROBLEM = {"id": "a1", "problem": "What is 3 + 4?", "answer": "7"}


def score_argv(ctx: Ctx, path: Path, *extra: str) -> list[str]:
    return ["score", str(path), "--json", str(ctx.json_out), *extra]


def eval_argv(ctx: Ctx, *extra: str) -> list[str]:
    return ["eval", "--model", str(ctx.model), "--json", str(ctx.json_out), *extra]


def run_argv(ctx: Ctx, *extra: str) -> list[str]:
    # A real student folder, so a case that slipped through would not build the synthetic world.
    return ["run", "--student", str(ctx.model), "--json", str(ctx.json_out), *extra]


def train_argv(ctx: Ctx, data: Path, *extra: str, model: str | None = None) -> list[str]:
    return ["train", "--model", model or str(ctx.model), "--data", str(data), "--output-dir", str(ctx.out_dir), *extra]
