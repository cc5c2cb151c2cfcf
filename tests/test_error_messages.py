"""Errors name what exists for the command at hand (issue #33, items 1 and 3).

Several samples of one prompt at temperature 0 are refused when the config is checked, with
the fix spelled for the command that was run; an error raised deep down (a benchmark the Hub
cannot serve, a teacher source without its file or model, an engine that is not installed)
names a flag only where the running command has it, and `--set KEY=VALUE` or the config key
elsewhere. The flag tables the commands declare are checked against their parsers.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from harness.cli import build_parser, main
from harness.errors import HarnessError

REPO = Path(__file__).resolve().parent.parent


def one_line_error(capsys, code: int, after_log: bool = False) -> str:
    """The one `error:` line on stderr; `after_log`: a stage may have logged its start before it."""
    assert code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0] and (after_log or len(lines) == 1), lines
    assert not any("Traceback" in line for line in lines)
    return errors[0]


# --------------------------------------------------------------------------- item 1: n samples at temperature 0

# Each names a model that does not exist: without the check, the command fails fast on something else.
NO_MODEL = "/nonexistent/model"
GREEDY = [
    (["eval", "--model", NO_MODEL, "--n", "3", "--k", "1,3"],
     "eval.n is 3 but eval.sampling.temperature is 0 (greedy)", "sample with --temperature 0.6 (or use --n 1)"),
    (["eval", "--model", NO_MODEL, "--set", "eval.n=2", "--temperature", "0"],
     "eval.n is 2", "sample with --temperature 0.6"),
    (["run", "--n", "3", "--set", "eval.sampling.temperature=0"],
     "eval.n is 3 but eval.sampling.temperature is 0", "sample with --set eval.sampling.temperature=0.6 (or use --n 1)"),
    (["teacher", "--source", "model", "--n", "2", "--set", "teacher.sampling.temperature=0"],
     "teacher.n is 2 but teacher.sampling.temperature is 0", "--set teacher.sampling.temperature=0.6 (or use --n 1)"),
    (["run", "--method", "palign", "--set", "method.sampling.temperature=0"],  # the preset's rollouts: 2
     "method.params.rollouts is 2 but method.sampling.temperature is 0",
     "--set method.sampling.temperature=0.6 (or use --set method.params.rollouts=1)"),
    (["run", "--method", "palign", "--judge", "self", "--set", "method.sampling.temperature=0"],  # samples: 2
     "method.params.samples is 2", "--set method.sampling.temperature=0.6"),
    (["run", "--method", "fixed_trunc", "--set", "method.sampling.temperature=0", "--set", "method.params.samples=3"],
     "method.params.samples is 3", "--set method.sampling.temperature=0.6"),
    (["export-lm-eval", "--benchmark", "aime24", "--out", "tasks", "--n", "3", "--k", "1,3"],
     "eval.n is 3 but eval.sampling.temperature is 0", "sample with --temperature 0.6 (or use --n 1)"),
]


@pytest.mark.parametrize("argv, problem, fix", GREEDY, ids=[" ".join(g[0][:2] + g[0][-2:]) for g in GREEDY])
def test_several_samples_at_temperature_0_are_refused_with_the_commands_fix(argv, problem, fix, tmp_path, capsys,
                                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    if argv[0] == "run":
        argv = [*argv, "--student", NO_MODEL]
    if argv[0] in ("run", "eval"):
        argv = [*argv, "--benchmarks", "aime24", "--set", f"eval.data_dir={tmp_path / 'none'}"]
    if argv[0] != "export-lm-eval":
        argv = [*argv, "--store", str(tmp_path / "store")]
    line = one_line_error(capsys, main(argv))
    assert problem in line and fix in line, line
    assert not any(tmp_path.iterdir())  # refused before anything is built or written


def test_greedy_is_fine_where_one_sample_is_drawn():
    from harness.config import parse_override, resolve_run_config
    from harness.method_runs import resolve_methods

    cfg = resolve_run_config(overrides=[parse_override(text) for text in (
        "method.sampling.temperature=0", "method.params.judge=self", "method.params.samples=1",
        "eval.sampling.temperature=0", "eval.n=1", "eval.k=[1]", "teacher.sampling.temperature=0", "teacher.n=1")])
    # the self judge draws no rollouts; prefix_only draws no continuations
    resolve_methods(cfg, ["palign", "fixed_trunc:variant=prefix_only,samples=3", "full_cot", "mix_cot"])


def test_a_partial_sampling_section_keeps_its_sections_defaults():
    """`--set teacher.sampling.max_new_tokens=16` changed the temperature to 0 too: the two samples were copies."""
    from harness.config import MethodConfig, TeacherConfig, parse_override, resolve_run_config

    cfg = resolve_run_config(overrides=[parse_override("teacher.sampling.max_new_tokens=16"),
                                        parse_override("method.sampling.top_p=0.5")], base_preset=None)
    assert cfg.teacher.sampling.temperature == TeacherConfig().sampling.temperature == 0.6
    assert cfg.teacher.sampling.max_new_tokens == 16
    assert cfg.method.sampling.repetition_penalty == MethodConfig().sampling.repetition_penalty == 1.05


def _doc_commands(command: str) -> list[str]:
    """Every `harness COMMAND ...` line of README.md and docs/*.md code blocks, continuations joined."""
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
        for line in text.splitlines():
            line = line.split(" # ")[0].strip()
            if line.startswith(f"harness {command} ") and "..." not in line and "keep_short" not in line:
                found.append(line)  # keep_short: docs/methods.md's plugin example, not installed here
    return sorted(set(found))


@pytest.mark.parametrize("line", _doc_commands("eval") + _doc_commands("run"))
def test_documented_eval_and_run_commands_resolve(line, monkeypatch):
    """The docs' examples are runnable as written: their settings pass every check (nothing is run)."""
    from harness.commands import eval_cmd, run
    from harness.flag_names import CommandFlags, use_flags
    from harness.method_runs import resolve_methods

    monkeypatch.setenv("N", "2")  # $N GPUs
    argv = [word.replace("$N", "2").replace("$seed", "0") for word in shlex.split(line)[1:]]
    args = build_parser().parse_args(argv)
    with use_flags(getattr(args, "setting_flags", CommandFlags())):
        if args.command == "eval":
            eval_cmd.build_config(args)
        else:
            cfg = run.config_from_args(args)
            resolve_methods(cfg, run.selectors_from_args(args, cfg))


def test_the_readme_eval_example_samples():
    (line,) = [line for line in _doc_commands("eval") if "PATH_OR_HUB_ID" in line]
    assert "--n 3" in line and "--temperature 0.6" in line


# --------------------------------------------------------------------------- item 3: flags that exist

def _subcommands() -> dict[str, object]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return dict(sub.choices)


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_declared_setting_flag_exists_on_its_command(name):
    from harness.flag_names import CommandFlags

    parser = _subcommands()[name]
    flags = parser.get_default("setting_flags") or CommandFlags()
    options = {opt for action in parser._actions for opt in action.option_strings}
    assert set(flags.flags.values()) <= options, set(flags.flags.values()) - options
    assert flags.takes_set == ("--set" in options)


def test_spell_names_the_flag_the_set_or_the_key():
    from harness.flag_names import CommandFlags, spell, use_flags

    assert spell("eval.data_dir", "DIR") == "eval.data_dir=DIR" and spell("eval.data_dir") == "eval.data_dir"
    with use_flags(CommandFlags({"eval.data_dir": "--data-dir"})):
        assert spell("eval.data_dir", "DIR") == "--data-dir DIR" and spell("eval.data_dir") == "--data-dir"
        assert spell("eval.limit", "1") == "eval.limit=1"
    with use_flags(CommandFlags(takes_set=True)):
        assert spell("eval.data_dir", "DIR") == "--set eval.data_dir=DIR"
    assert spell("eval.data_dir", "DIR") == "eval.data_dir=DIR"  # restored


@pytest.fixture
def hub_unreachable(monkeypatch):
    """Every Hub dataset load fails, as offline with an empty cache (whatever this machine's cache holds)."""
    import datasets

    def refuse(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'HuggingFaceH4/aime_2024' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", refuse)
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)


@pytest.mark.parametrize("argv, fix", [
    (["run", "--benchmarks", "aime24"], "give --set eval.data_dir=DIR or set HARNESS_DATA_DIR=DIR"),
    (["eval", "--benchmarks", "aime24"], "give --data-dir DIR or set HARNESS_DATA_DIR=DIR"),
])
def test_a_benchmark_the_hub_cannot_serve_names_the_commands_flag(argv, fix, hub_unreachable, tiny_model_dir,
                                                                 tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    model = ["--student" if argv[0] == "run" else "--model", str(tiny_model_dir)]
    line = one_line_error(capsys, main([*argv, *model, "--store", str(tmp_path / "store")]))
    assert "benchmark 'aime24'" in line and fix in line, line
    if argv[0] == "run":
        assert "--data-dir" not in line


def test_the_hubs_reason_is_cut_at_a_word(monkeypatch):
    import datasets

    from harness.eval.benchmarks import get_benchmark

    said = "Couldn't reach 'HuggingFaceH4/aime_2024' on the Hub: " + " ".join(f"retry{i} failed" for i in range(40))
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(ConnectionError(said)))
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    monkeypatch.setattr("harness.hub.offline_now", lambda: None)  # online: the Hub's own reason is shown
    with pytest.raises(HarnessError) as err:
        get_benchmark("aime24").load()
    reason = str(err.value).split("from the Hub (")[1].split("); give")[0]
    assert reason.endswith("…") and len(reason) <= 120
    assert said.startswith(reason[:-1]) and said[len(reason) - 1] == " "  # the cut falls between words


@pytest.mark.parametrize("argv, fix", [
    (["run", "--set", "teacher.source=model"], "needs a teacher model: give --set teacher.model=PATH"),
    (["teacher", "--source", "model"], "needs a teacher model: give --model PATH"),
])
def test_a_model_teacher_without_a_model_names_the_commands_flag(argv, fix, tiny_model_dir, tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    student = ["--student", str(tiny_model_dir)] if argv[0] == "run" else []
    line = one_line_error(capsys, main([*argv, *student, "--store", str(tmp_path / "store")]))
    assert fix in line, line


@pytest.mark.parametrize("argv, fix", [
    (["run", "--set", "teacher.source=s1k"], "with --set teacher.dataset=PATH"),
    (["teacher", "--source", "s1k"], "with --dataset PATH"),
])
def test_s1k_from_an_unreachable_hub_names_the_commands_flag(argv, fix, hub_unreachable, tiny_model_dir, tmp_path,
                                                            capsys, monkeypatch):
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    student = ["--student", str(tiny_model_dir)] if argv[0] == "run" else []
    line = one_line_error(capsys, main([*argv, *student, "--store", str(tmp_path / "store")]), after_log=True)
    assert "cannot load 'simplescaling/s1K-1.1'" in line and fix in line, line


@pytest.mark.parametrize("argv, fix", [
    (["run", "--set", "teacher.source=model", "--set", "teacher.model=MODEL", "--engine", "vllm"],
     "or use --engine transformers"),
    (["teacher", "--source", "model", "--model", "MODEL", "--set", "engine.name=vllm"],
     "or use --set engine.name=transformers"),
])
def test_an_engine_that_is_not_installed_names_the_commands_flag(argv, fix, tiny_model_dir, tmp_path, capsys,
                                                                 monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    argv = [word.replace("MODEL", str(tiny_model_dir)) for word in argv]
    student = ["--student", str(tiny_model_dir)] if argv[0] == "run" else []
    line = one_line_error(capsys, main([*argv, *student, "--store", str(tmp_path / "store")]), after_log=True)
    assert "engine 'vllm' chosen but vllm is not installed" in line and fix in line, line


def test_score_with_k_above_the_outputs_names_k_not_n(tmp_path, capsys):
    gens = tmp_path / "g.jsonl"
    gens.write_text(json.dumps({"answer": "7", "outputs": ["\\boxed{7}", "\\boxed{7}"]}) + "\n")
    line = one_line_error(capsys, main(["score", str(gens), "--k", "1,3"]))
    assert "pass@3 needs at least 3 samples per problem, but n=2; lower --k" in line and "--n" not in line


@pytest.mark.parametrize("text, limit, expected", [
    ("judge_queries=3, judge_queries_per_trace_max=4, rounds=2", 40, "judge_queries=3…"),
    ("short enough", 40, "short enough"),
    ("a\nmulti-line   reason", 40, "a multi-line reason"),
    ("x" * 100, 10, "x" * 9 + "…"),  # one word longer than the room: nothing else would show
])
def test_clip_cuts_at_a_word(text, limit, expected):
    from harness.errors import clip

    assert clip(text, limit) == expected
