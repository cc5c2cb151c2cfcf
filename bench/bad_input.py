"""Bad-input benchmark (issue #8): every user mistake must be one line on stderr and exit 2.

Runs the corpus in `bench/bad_input_cases_*.py` against the real `harness` CLI, one
subprocess per case, each in its own temporary folder with its own run store, and checks:

  * exit code 2;
  * stderr is exactly one non-empty line, starting with `error:` and naming the problem
    (each case gives a fragment the line must contain);
  * no traceback in stdout or stderr;
  * nothing left looking complete: the case's `--json` path does not exist, a training
    output folder holds no model or report, and the store holds no stage folder without
    the `.partial` suffix.

Usage: python bench/bad_input.py [--json results.json] [--only NAME] [--model DIR] [--jobs N]

Cases that need a loadable model get a random tiny Qwen2 folder built here (seconds, no
network), or `--model DIR`. Exits non-zero when any case fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bad_input_cases_config  # noqa: E402,F401  (importing registers the cases)
import bad_input_cases_data  # noqa: E402,F401
import bad_input_cases_pipeline  # noqa: E402,F401
from bad_input_corpus import CASES, Case, Ctx  # noqa: E402

CASE_TIMEOUT_S = 180  # a case still running after this did not fail fast: counted as failed

_CORPUS = [
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "Tom has 12 apples and buys 7 more. 12 + 7 = 19. The answer is \\boxed{19}.",
    "Wait, let me check that again. 3 * 4 = 12, so the total is 12. Therefore \\boxed{12}.",
] * 20


@dataclass
class Outcome:
    case: str
    what: str
    command: str
    exit_code: int | None
    stderr_line: str
    note: str
    passed: bool
    skipped: bool
    problems: list[str]
    seconds: float


def offline_env(store: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HARNESS_STORE=str(store))
    env.pop("HARNESS_DATA_DIR", None)  # a user's data folder must not change what a case sees
    env.setdefault("PYTHONPATH", "")
    # Run the harness of this checkout even when it is not the installed one.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent), env["PYTHONPATH"]) if p)
    return env


def build_tiny_model(path: Path) -> Path:
    """A random micro Qwen2 with a locally trained tokenizer (what the tests use), ~10 s on CPU."""
    sys.path.insert(0, str(HERE.parent))
    from harness.synth.models import save_random_model

    return save_random_model(path, _CORPUS, arch="qwen2", size="micro", context_length=512, vocab_size=400, seed=0)


def complete_stages(store: Path) -> list[str]:
    """Stage folders under `store` that look finished (no `.partial` suffix)."""
    if not store.is_dir():
        return []
    return sorted(str(p.relative_to(store)) for kind in store.iterdir() if kind.is_dir() and not kind.name.startswith(".")
                  for p in kind.iterdir() if p.is_dir() and not p.name.endswith(".partial"))


def check(case: Case, ctx: Ctx, proc: subprocess.CompletedProcess | None) -> tuple[list[str], str]:
    """Every way the harness's answer to a bad input can be wrong, as a list of problems."""
    if proc is None:
        return [f"still running after {CASE_TIMEOUT_S} s: did not fail fast"], ""
    problems = []
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    if proc.returncode != 2:
        problems.append(f"exit code {proc.returncode}, expected 2")
    if len(lines) != 1:
        problems.append(f"stderr has {len(lines)} non-empty lines, expected 1")
    if not first.startswith("error:"):
        problems.append("stderr does not start with 'error:'")
    for needle in case.needles:
        if needle.lower() not in first.lower():
            problems.append(f"error line does not mention {needle!r}")
    if "Traceback" in proc.stdout or "Traceback" in proc.stderr:
        problems.append("traceback in the output")
    if ctx.json_out.exists():
        problems.append(f"--json output {ctx.json_out.name} was written")
    for name in ("train_report.json", "config.json", "model.safetensors"):
        if (ctx.out_dir / name).exists():
            problems.append(f"training output folder holds {name}")
    done = complete_stages(ctx.store)
    if done:
        problems.append(f"store holds complete stage folder(s): {', '.join(done)}")
    return problems, first


def run_case(case: Case, root: Path, model: Path) -> Outcome:
    work = root / case.name
    work.mkdir(parents=True)
    ctx = Ctx(work=work, store=work / "store", json_out=work / "out.json", out_dir=work / "train-out", model=model)
    started = time.time()
    spec = case.build(ctx)
    if spec.skip:
        return Outcome(case.name, case.what, "", None, "", spec.note, True, True, [f"skipped: {spec.skip}"], 0.0)
    argv = list(spec.argv) if spec.own_store else [*spec.argv, "--store", str(ctx.store)]
    command = "harness " + " ".join(argv).replace(str(work), "$CASE").replace(str(model), "$MODEL")
    try:
        proc = subprocess.run([sys.executable, "-m", "harness.cli", *argv], capture_output=True, text=True,
                              errors="replace", env=offline_env(ctx.store), cwd=work, timeout=CASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc = None
    problems, line = check(case, ctx, proc)
    line = line.replace(str(work), "$CASE").replace(str(model), "$MODEL")  # readable, and stable across runs
    return Outcome(case.name, case.what, command, None if proc is None else proc.returncode, line, spec.note,
                   not problems, False, problems, round(time.time() - started, 2))


def show(outcomes: list[Outcome]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="harness bad-input corpus", show_lines=False)
    table.add_column("case", max_width=36, overflow="fold")
    for column in ("exit", "stderr line", "result"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        if o.skipped:
            verdict = "[yellow]skip[/yellow]"
        else:
            verdict = "[green]pass[/green]" if o.passed else "[red]FAIL[/red]: " + escape("; ".join(o.problems))
        name = o.case + (f"\n[dim]({escape(o.note)})[/dim]" if o.note else "")
        table.add_row(name, "-" if o.exit_code is None else str(o.exit_code), escape(o.stderr_line) or "-", verdict)
    Console(width=200).print(table, markup=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write every case's outcome as JSON")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="run only these cases (repeatable)")
    parser.add_argument("--model", metavar="DIR", help="a loadable tiny model folder (default: build one)")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    args = parser.parse_args(argv)

    cases = [c for c in CASES if not args.only or c.name in args.only]
    unknown = set(args.only) - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="harness-bad-input-") as tmp:
        root = Path(tmp)
        model = Path(args.model).resolve() if args.model else build_tiny_model(root / "tiny-model")
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes = list(pool.map(lambda c: run_case(c, root / "cases", model), cases))
    show(outcomes)
    ran = [o for o in outcomes if not o.skipped]
    passed = sum(o.passed for o in ran)
    failed = len(ran) - passed
    skipped = len(outcomes) - len(ran)
    if args.json:
        payload = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": "python bench/bad_input.py" + (f" --json {args.json}" if args.json else ""),
            "cases": len(outcomes), "passed": passed, "failed": failed, "skipped": skipped,
            "seconds": round(time.time() - started, 1),
            "outcomes": [asdict(o) for o in outcomes],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")
          + f" ({len(outcomes)} cases, {time.time() - started:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
