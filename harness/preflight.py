"""What a run needs, checked before any stage: the device, the engine, the student, the data.

Without these checks a paper run on a machine without bf16 failed at the train stage, after
hours of teacher and method stages, and a missing vLLM showed only after the teacher stage.
`harness run` runs every check first and stops with one line naming every failure;
`harness run --dry-run` prints the whole list (ok or failed, with what each found) and exits
2 when one failed, so every problem shows at once. A check that fails here would fail the
run later; a check that passes cannot promise the run succeeds (a Hub download can still
fail halfway).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.config import RunConfig
from harness.errors import HarnessError
from harness.method_runs import MethodRun
from harness.methods import get_method
from harness.store import RunStore


@dataclass(frozen=True)
class Check:
    name: str  # what was checked: "training", "engine", "student", "teacher data", "benchmark aime24"
    ok: bool
    detail: str  # what was found, or the one-line problem and its fix


def run_checks(cfg: RunConfig, runs: list[MethodRun], store: RunStore) -> list[Check]:
    """Every check of a run, machine first, then the student and the data."""
    return machine_checks(cfg, trains=any(get_method(run.name).trains for run in runs)) + data_checks(cfg, store)


def machine_checks(cfg: RunConfig, trains: bool = True) -> list[Check]:
    """The device and the engine: what this machine must have, whatever the data."""
    checks = [_check("engine", lambda: _engine(cfg))]
    if trains:
        checks.insert(0, _check("training", lambda: _training(cfg)))
    return checks


def data_checks(cfg: RunConfig, store: RunStore) -> list[Check]:
    """The student and the data every stage reads: the teacher's source and each benchmark."""
    checks = [_check("student", lambda: _student(cfg.student.model)),
              _check("teacher data", lambda: _teacher(cfg, store))]
    checks += [_check(f"benchmark {name}", lambda name=name: _benchmark(cfg, name)) for name in cfg.eval.benchmarks]
    return checks


def failures(checks: list[Check]) -> list[Check]:
    return [check for check in checks if not check.ok]


def require(checks: list[Check], listed: bool = False) -> None:
    """One line naming every failed check (only their names when `listed` above it), or nothing."""
    failed = failures(checks)
    if not failed:
        return
    if listed:
        raise HarnessError(f"{len(failed)} of {len(checks)} checks failed (listed above): "
                           + ", ".join(c.name for c in failed))
    if len(failed) == 1:
        raise HarnessError(failed[0].detail)
    raise HarnessError(f"{len(failed)} checks failed before any stage ran: "
                       + "; ".join(f"[{c.name}] {c.detail}" for c in failed)
                       + " (`harness run --dry-run` lists every check)")


def print_checks(checks: list[Check], title: str) -> None:
    from rich.table import Table

    from harness.console import stdout_console

    table = Table(title=title)
    for column in ("check", "status", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row(check.name, "ok" if check.ok else "FAILED", check.detail)
    stdout_console().print(table)


def _check(name: str, probe) -> Check:
    """`probe()` returns what it found; a user error it raises is the failure."""
    try:
        return Check(name, True, probe())
    except HarnessError as exc:
        return Check(name, False, str(exc))


# --------------------------------------------------------------------------- the machine

def _training(cfg: RunConfig) -> str:
    if cfg.train.bf16:
        from harness.training.device import bf16_problem

        problem = bf16_problem()
        if problem:
            raise HarnessError(problem)
        return "bf16 supported"
    return "float32 (train.bf16 is off)"


def _engine(cfg: RunConfig) -> str:
    import torch

    from harness.config import data_parallel_problem
    from harness.engines.factory import choose_engine, missing_package

    name = choose_engine(cfg.engine)
    problem = missing_package(name) or data_parallel_problem(cfg.engine, name)
    if problem:
        raise HarnessError(problem)
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    wants_cuda = name == "vllm" or cfg.engine.device.startswith("cuda")
    if wants_cuda and not gpus:
        raise HarnessError(f"engine {name!r} needs a CUDA GPU and none is visible (torch.cuda.is_available() is "
                           f"False); use --engine transformers on this machine")
    tp, dp = cfg.engine.tensor_parallel_size, cfg.engine.data_parallel_size
    if name == "vllm":
        from harness.engines.replicas import too_few_gpus

        problem = too_few_gpus(dp, tp, gpus)
        if problem:
            raise HarnessError(problem)
    where = f"{gpus} GPU{'s' if gpus != 1 else ''}" if gpus else "CPU"
    replicas = f", {dp} replicas of {tp} GPU{'s' if tp != 1 else ''}" if dp > 1 else ""
    return f"{name} on {where}{replicas}" + (" (engine.name=auto)" if cfg.engine.name != name else "")


# --------------------------------------------------------------------------- the student and the data

def _student(model: str) -> str:
    if model.startswith("synth:"):
        from harness.synth.world import check_size

        check_size(model.split(":", 1)[1])
        return "built-in, built in the run store"
    return _model(model, "student", "--student PATH")


def _model(model: str, role: str, flag: str) -> str:
    """Where a local folder or Hub id `model` comes from; `flag` is how the command names another one."""
    from harness.fingerprint import looks_like_path

    if looks_like_path(model):
        path = Path(model).expanduser()
        if not path.is_dir():
            raise HarnessError(f"{role} model folder not found: {model} ({flag})")
        from harness.fingerprint import folder_problem

        problem = folder_problem(path)
        if problem:
            raise HarnessError(f"{role} {problem} ({flag})")
        return "local folder"
    from huggingface_hub import try_to_load_from_cache

    from harness.hub import offline_reason

    try:
        cached = isinstance(try_to_load_from_cache(model, "config.json"), str)
    except ValueError:  # not a repository id at all
        raise HarnessError(f"{role} {model!r} is neither a local folder nor a Hub model id ({flag})") from None
    if cached:
        return "Hub model, in the local Hugging Face cache"
    offline = offline_reason()
    if offline:
        raise HarnessError(f"{role} {model!r} is not in the local Hugging Face cache and the Hub is offline "
                           f"({offline}); download it first (hf download {model}) or pass {flag}")
    return "Hub model, downloaded on first use"


def _teacher(cfg: RunConfig, store: RunStore) -> str:
    from harness.stages import teacher_stage

    stage = teacher_stage(cfg, store)  # source=model without a teacher model is one line here
    if stage.done:
        return f"stored (teacher {stage.key})"
    source = cfg.teacher.source
    if source == "s1k":
        from harness.teacher.s1k import load_rows

        rows = load_rows(cfg.teacher.dataset, cfg.teacher.split)
        return f"s1k: {len(rows)} rows from {cfg.teacher.dataset}"
    if source == "model":
        from harness.teacher.model_source import load_problems

        model = str(cfg.teacher.model)
        where = _model(model, "teacher", "--set teacher.model=PATH")
        return f"model: {len(load_problems(cfg))} problems for {model} ({where})"
    if source == "synth":
        return "synth: the built-in synthetic teacher"
    return f"{source}: a plugin's source (it checks its own data when it runs)"


def _benchmark(cfg: RunConfig, name: str) -> str:
    from harness.eval.benchmarks import get_benchmark

    problems = get_benchmark(name).load(cfg.eval.data_dir)
    if not problems:
        raise HarnessError(f"benchmark {name!r} has no problems")
    return f"{len(problems)} problems"
