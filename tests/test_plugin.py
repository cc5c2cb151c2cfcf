"""A third-party method registered through the `harness.methods` entry-point group runs through `harness run`."""

import json
import sys
import textwrap
from importlib.metadata import EntryPoint

from harness import registry
from harness.methods import METHODS
from test_pipeline import Fakes, run

PLUGIN = textwrap.dedent('''
    from dataclasses import dataclass, field

    from harness.methods import MethodResult, SFTExample, register_method


    @dataclass
    class EchoParams:
        suffix: str = field(default="!", metadata={"help": "appended to every target"})


    @register_method("echo_answer", params=EchoParams, description="Plugin test: the target is the boxed answer.")
    def echo_answer(traces, params, ctx):
        examples = [SFTExample(t.id, t.problem, "\\\\boxed{" + t.answer + "}" + params.suffix) for t in traces]
        return MethodResult(examples, {"kept": len(examples), "plugin": True})
''')


def test_entry_point_plugin_runs_through_harness_run(tmp_path, monkeypatch, tiny_model_dir, capsys, isolate):
    (tmp_path / "echo_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    real = registry.entry_points

    def entry_points(group=None, **kw):
        if group == "harness.methods":
            return [EntryPoint(name="echo_answer", value="echo_plugin", group="harness.methods")]
        return real(group=group, **kw)

    monkeypatch.setattr(registry, "entry_points", entry_points)
    isolate(METHODS)
    monkeypatch.delitem(sys.modules, "echo_plugin", raising=False)
    fakes = Fakes(monkeypatch, tiny_model_dir)

    assert "echo_answer" in METHODS.names()
    assert main_methods_lists("echo_answer", capsys)
    out = tmp_path / "r.json"
    assert run(tmp_path, "--method", "echo_answer", "--set", "method.params.suffix=done", "--json", str(out)) == 0
    record = json.loads(out.read_text())
    assert record["method"] == "echo_answer" and record["method_params"] == {"suffix": "done"}
    assert record["method_stats"] == {"kept": 4, "plugin": True}
    sft = next((tmp_path / "store" / "method").glob("echo_answer-*/sft.jsonl")).read_text().splitlines()
    assert json.loads(sft[0])["completion"][0]["content"] == "\\boxed{40}done"
    assert fakes.calls["train"] == 1


def main_methods_lists(name: str, capsys) -> bool:
    from harness.cli import main

    capsys.readouterr()
    assert main(["methods"]) == 0
    return name in capsys.readouterr().out


EVIL = textwrap.dedent('''
    from harness.methods import MethodResult, MethodSpec, SFTExample

    def escape(traces, params, ctx):
        return MethodResult([SFTExample(t.id, t.problem, t.answer) for t in traces], {})

    SPEC = MethodSpec(name="../../escape", fn=escape, description="writes outside the store if it can")
''')


def _evil_plugin(tmp_path, monkeypatch, ep_name, isolate):
    (tmp_path / "evil_plugin.py").write_text(EVIL)
    monkeypatch.syspath_prepend(str(tmp_path))
    real = registry.entry_points

    def entry_points(group=None, **kw):
        if group == "harness.methods":
            return [EntryPoint(name=ep_name, value="evil_plugin:SPEC", group="harness.methods")]
        return real(group=group, **kw)

    monkeypatch.setattr(registry, "entry_points", entry_points)
    isolate(METHODS)
    monkeypatch.delitem(sys.modules, "evil_plugin", raising=False)


def _one_line(capsys, needle):
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], lines


def test_plugin_named_with_a_path_is_refused(tmp_path, monkeypatch, tiny_model_dir, capsys, isolate):
    """Issue #14: store folders are built from method names; `../` must not write outside the store."""
    _evil_plugin(tmp_path, monkeypatch, "../../escape", isolate)
    Fakes(monkeypatch, tiny_model_dir)
    assert run(tmp_path, "--method", "full_cot") == 2
    _one_line(capsys, "the name must match")
    assert not (tmp_path / "escape").exists() and not (tmp_path.parent / "escape").exists()


def test_method_spec_with_a_path_name_cannot_name_a_stage(tmp_path, monkeypatch, tiny_model_dir, capsys, isolate):
    _evil_plugin(tmp_path, monkeypatch, "evil", isolate)  # a fine entry-point name, a bad name inside the spec
    fakes = Fakes(monkeypatch, tiny_model_dir)
    assert run(tmp_path, "--method", "evil") == 2
    _one_line(capsys, "cannot name a store folder")
    assert fakes.calls == {"teacher": 0, "train": 0, "eval": 0} and not (tmp_path / "escape").exists()
    assert not [p for p in (tmp_path / "store").rglob("*escape*")]
