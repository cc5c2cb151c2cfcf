"""One `Registry` for every kind: lazy built-ins, plugins from installed packages, one name per entry.

Plugins here are packages on sys.path with a dist-info folder (`install_plugin`), found by
`importlib.metadata` exactly as an installed package is; `isolate` puts each registry back
after the test.
"""

import sys
import textwrap

import pytest

from harness.cli import main
from harness.config import EngineConfig, parse_override, resolve_run_config
from harness.errors import HarnessError
from harness.registries import ALL, BENCHMARKS, ENGINES, GRADERS, JUDGES, METHODS, METRICS, SOURCES
from harness.registry import Registry

PLUGIN = textwrap.dedent('''
    from harness.teacher.sources import SourceResult


    class EchoEngine:
        name = "echo"

        def __init__(self, model, cfg):
            self.model_id, self.cfg = model, cfg


    class AlwaysJudge:
        """Calls every prefix sufficient."""

        @classmethod
        def create(cls, generator, **settings):
            judge = cls()
            judge.settings = settings
            return judge


    def canned(cfg, work_dir):
        return SourceResult([])


    def never(gold, output, strip_thinking):
        return False
''')

GROUPS = {"harness.engines": {"echo": "everything_plugin:EchoEngine"},
          "harness.judges": {"always": "everything_plugin:AlwaysJudge"},
          "harness.teacher_sources": {"canned": "everything_plugin:canned"},
          "harness.graders": {"never": "everything_plugin:never"}}


@pytest.fixture
def everything_plugin(install_plugin, isolate):
    for registry in (ENGINES, JUDGES, SOURCES, GRADERS):
        isolate(registry)
    install_plugin("everything-plugin", {"everything_plugin": PLUGIN}, GROUPS)


def test_every_kind_is_one_registry_class_with_its_own_group():
    assert all(isinstance(r, Registry) for r in ALL)
    assert len({r.group for r in ALL}) == len(ALL) == 7
    from harness.engines.hf import HFEngine
    from harness.eval.grading import audit_grade
    from harness.teacher.sources import get_source, synth_source
    from palign.judges import RolloutJudge, SelfJudge

    assert get_source("synth") is SOURCES.get("synth") is synth_source
    assert ENGINES.get("transformers") is HFEngine and GRADERS.get("boxed_string") is audit_grade
    METHODS.names()  # palign registers its judges when the method registry imports it
    assert JUDGES.get("rollout") is RolloutJudge and JUDGES.get("self") is SelfJudge
    assert METHODS.get("palign").name == "palign" and "synth_target" in BENCHMARKS.names()
    assert "pass_at_k" in METRICS.names()


def test_lazy_builtins_are_listed_without_being_imported(tmp_path, monkeypatch):
    (tmp_path / "lazy_thing.py").write_text("THING = object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_thing", raising=False)
    reg = Registry("thing", "harness.test_things", lazy={"a": "lazy_thing:THING"})
    assert reg.names() == ["a"] and "lazy_thing" not in sys.modules
    assert reg.get("a") is sys.modules["lazy_thing"].THING
    # the real ones: listing the engines (CLI choices) imports neither engine
    monkeypatch.delitem(sys.modules, "harness.engines.vllm_engine", raising=False)
    assert "vllm" in ENGINES.names() and "harness.engines.vllm_engine" not in sys.modules


def test_a_name_is_registered_once():
    reg = Registry("thing", "harness.test_things", lazy={"a": "somewhere:A"})
    obj = object()
    reg.add("b", obj)
    reg.add("b", obj)  # the same object again (a module imported twice) is fine
    with pytest.raises(ValueError, match="thing 'b' is registered twice"):
        reg.add("b", object())
    with pytest.raises(ValueError, match="thing 'a' is a built-in"):
        reg.add("a", object())
    with pytest.raises(HarnessError, match=r"unknown thing 'c' \(known: a, b\)"):
        reg.get("c")


def test_a_plugin_that_shadows_a_builtin_is_one_line(install_plugin, isolate, capsys):
    isolate(ENGINES)
    install_plugin("shadow", {"shadow_engine": "class Engine:\n    pass\n"},
                   {"harness.engines": {"transformers": "shadow_engine:Engine"}})
    assert main(["eval", "--model", "x"]) == 2  # the parser lists the engines: the plugin loads there
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["error: plugin 'transformers' in harness.engines (distribution shadow 0.1) failed to load: "
                     "engine 'transformers' is a built-in; choose another name (fix it or `pip uninstall shadow`)"]


def test_reset_forgets_plugins_and_isolated_restores(install_plugin, isolate):
    isolate(GRADERS)
    assert GRADERS.names() == ["boxed_string"]  # entry points scanned: nothing installed yet
    install_plugin("graders", {"never_grader": "def never(gold, output, strip):\n    return False\n"},
                   {"harness.graders": {"never": "never_grader:never"}})
    assert GRADERS.names() == ["boxed_string"]  # scanned once per process, as the CLI does
    GRADERS.reset()
    assert GRADERS.names() == ["boxed_string", "never"]
    with GRADERS.isolated():
        GRADERS.add("extra", print)
        assert "extra" in GRADERS.names()
    assert GRADERS.names() == ["boxed_string", "never"]


def test_cli_choices_and_config_checks_come_from_the_registries(everything_plugin, capsys, tmp_path):
    from harness.engines import load_engine

    for argv, choices in ((["eval", "--help"], "{auto,echo,transformers,vllm}"),
                          (["run", "--help"], "{auto,echo,transformers,vllm}"),
                          (["teacher", "--help"], "{canned,model,s1k,synth}")):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0 and choices in capsys.readouterr().out
    layers = [parse_override(text) for text in ("engine.name=echo", "teacher.source=canned", "eval.audit_grader=never")]
    cfg = resolve_run_config(overrides=layers)
    assert (cfg.engine.name, cfg.teacher.source, cfg.eval.audit_grader) == ("echo", "canned", "never")
    assert type(load_engine("some-model", EngineConfig(name="echo"))).__name__ == "EchoEngine"
    with pytest.raises(HarnessError, match=r"unknown engine 'nope' \(known: auto, echo, transformers, vllm\)"):
        resolve_run_config(overrides=[parse_override("engine.name=nope")])


def test_a_plugin_judge_is_a_palign_judge(everything_plugin):
    from harness.config import SamplingConfig
    from palign.judges import make_judge
    from palign.method import PAlignParams

    assert PAlignParams(judge="always").judge == "always"
    with pytest.raises(HarnessError, match="judge must be one of always, rollout, self, got 'nope'"):
        PAlignParams(judge="nope")
    judge = make_judge("always", None, instruction="Solve.", enable_thinking=None, seed=3, sampling=SamplingConfig(),
                       grade=lambda golds, outs: [], k=2, threshold=0.5, prompt_style="prefill")
    assert type(judge).__name__ == "AlwaysJudge" and judge.settings["k"] == 2


# --------------------------------------------------------------------------- a plugin that fails to import (issue 33)

BROKEN = {"harness.methods": {"broken_method": "broken_plugin"},
          "harness.metrics": {"broken_metric": "broken_plugin:METRIC"}}


@pytest.fixture
def broken_plugin(install_plugin, isolate):
    isolate(METHODS)
    isolate(METRICS)
    install_plugin("harness-broken", {"broken_plugin": "import harness_no_such_module\n"}, BROKEN)


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def test_a_plugin_that_fails_to_import_is_skipped_with_one_line_naming_its_distribution(broken_plugin, capsys):
    assert main(["methods"]) == 0
    out, err = capsys.readouterr()
    assert "full_cot" in out and "broken_method" not in out
    (line,) = _warnings(err)
    assert line.endswith("warning: skipped method plugin 'broken_method': distribution harness-broken 0.1 failed to "
                         "import: ModuleNotFoundError: No module named 'harness_no_such_module' "
                         "(fix it or `pip uninstall harness-broken`)")


def test_a_plugin_that_fails_to_import_does_not_block_harness_eval(broken_plugin, tmp_path, monkeypatch,
                                                                    tiny_model_dir, capsys):
    from test_pipeline import Fakes

    fakes = Fakes(monkeypatch, tiny_model_dir)
    assert main(["eval", "--store", str(tmp_path / "store"), "--model", str(tiny_model_dir),
                 "--benchmarks", "fake_bench"]) == 0
    assert fakes.calls["eval"] == 1
    lines = [line for line in _warnings(capsys.readouterr().err) if "warning:" in line]
    assert len(lines) == 2 and all("distribution harness-broken 0.1 failed to import" in line for line in lines)
    assert {"method plugin 'broken_method'", "metric plugin 'broken_metric'"} == {
        line.split("skipped ")[1].split(":")[0] for line in lines}


def test_asking_for_a_plugin_that_failed_to_import_is_one_line(broken_plugin, tmp_path, monkeypatch, tiny_model_dir,
                                                              capsys):
    from test_pipeline import Fakes, run

    fakes = Fakes(monkeypatch, tiny_model_dir)
    assert run(tmp_path, "--method", "broken_method") == 2
    assert _warnings(capsys.readouterr().err) == [
        "error: method 'broken_method' is a plugin that did not load: distribution harness-broken 0.1 failed to "
        "import: ModuleNotFoundError: No module named 'harness_no_such_module' (fix it or `pip uninstall harness-broken`)"]
    assert fakes.calls == {"teacher": 0, "train": 0, "eval": 0}
