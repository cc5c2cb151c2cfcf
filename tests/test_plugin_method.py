"""A plugin method's output is checked before its stage is published (issue 33).

The plugin is a package laid out as pip installs it (`install_plugin`). A bad output is one
line naming the method and its first bad example, and leaves no published method stage, so
the fixed plugin's rerun computes the stage without `--force`.
"""

from __future__ import annotations

import sys

import pytest

from harness.methods import METHODS
from test_pipeline import Fakes, run

PLUGIN = '''
from harness.methods import MethodResult, SFTExample, register_method


@register_method("echo_answer", description="Plugin test: the target is the boxed answer.")
def echo_answer(traces, params, ctx):
    return {returns}
'''
GOOD = "MethodResult([SFTExample(t.id, t.problem, '\\\\boxed{' + t.answer + '}') for t in traces], {'kept': len(traces)})"
GROUPS = {"harness.methods": {"echo_answer": "echo_plugin"}}

BAD = {
    "None prompt": ("MethodResult([SFTExample(t.id, None, t.answer) for t in traces])",
                    "a bad example #0 (id 't0'): its prompt is None (NoneType), not a string"),
    "int completion": ("MethodResult([SFTExample(t.id, t.problem, 7) for t in traces])",
                       "a bad example #0 (id 't0'): its completion is 7 (int), not a string"),
    "a dict": ("{'examples': [SFTExample(t.id, t.problem, t.answer) for t in traces]}",
               "a dict, not a MethodResult(examples, stats)"),
    "dicts for examples": ("MethodResult([{'id': t.id, 'prompt': t.problem, 'completion': t.answer} for t in traces])",
                           "a bad example #0: a dict, not an SFTExample"),
    "a generator": ("MethodResult(SFTExample(t.id, t.problem, t.answer) for t in traces)",
                    "examples as a generator, not a list of SFTExample"),
    "duplicate ids": ("MethodResult([SFTExample('same', t.problem, t.answer) for t in traces])",
                      "a bad example #1 (id 'same'): its id repeats an earlier example's"),
    "empty completion": ("MethodResult([SFTExample(t.id, t.problem, ' ' if t.id == 't2' else t.answer) for t in traces])",
                         "a bad example #2 (id 't2'): its completion is empty"),
    "empty prompt": ("MethodResult([SFTExample(t.id, '', t.answer) for t in traces])",
                     "a bad example #0 (id 't0'): its prompt is empty"),
    "stats not JSON": ("MethodResult([SFTExample(t.id, t.problem, t.answer) for t in traces], {'x': {1, 2}})",
                       "stats that are not JSON: Object of type set is not JSON serializable"),
}


def _install(install_plugin, tmp_path, returns: str, version: str = "0.1", site=None, direct_url=None):
    return install_plugin("harness-echo", {"echo_plugin": PLUGIN.format(returns=returns)}, GROUPS, version=version,
                          site=site, direct_url=direct_url)


def _reload(monkeypatch) -> None:
    """What a new process sees after the plugin changed: the module imported afresh, the entry points rescanned."""
    monkeypatch.delitem(sys.modules, "echo_plugin", raising=False)
    METHODS.reset()


def _published(store) -> list[str]:
    return sorted(p.name for p in (store / "method").iterdir() if not p.name.endswith(".partial"))


def _one_error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and errors == lines[-1:] and "Traceback" not in "".join(lines), lines
    return errors[0]


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_method_output_is_one_line_and_publishes_no_stage(case, tmp_path, monkeypatch, tiny_model_dir,
                                                                install_plugin, isolate, capsys):
    returns, needle = BAD[case]
    isolate(METHODS)
    _install(install_plugin, tmp_path, returns)
    fakes = Fakes(monkeypatch, tiny_model_dir)
    assert run(tmp_path, "--method", "echo_answer") == 2
    assert _one_error(capsys) == f"error: method 'echo_answer' returned {needle}"
    assert _published(tmp_path / "store") == [] and fakes.calls["train"] == 0


def test_a_fixed_plugin_s_rerun_computes_its_stage_without_force(tmp_path, monkeypatch, tiny_model_dir,
                                                                 install_plugin, isolate, capsys):
    """A plain install keeps its version while it is fixed in place: the key stays, and the stage is computed."""
    isolate(METHODS)
    site = tmp_path / "venv" / "lib" / "site-packages"
    _install(install_plugin, tmp_path, BAD["None prompt"][0], site=site)
    fakes = Fakes(monkeypatch, tiny_model_dir)
    store = tmp_path / "store"
    assert run(tmp_path, "--method", "echo_answer") == 2
    assert "its prompt is None" in _one_error(capsys)
    (partial,) = (store / "method").iterdir()
    assert partial.name.endswith(".partial") and _published(store) == []

    (site / "echo_plugin.py").write_text(PLUGIN.format(returns=GOOD), encoding="utf-8")
    _reload(monkeypatch)
    assert run(tmp_path, "--method", "echo_answer") == 0
    assert _published(store) == [partial.name.removesuffix(".partial")]  # the same key, computed this time
    assert fakes.calls["train"] == 1
    assert f"computing method {partial.name.removesuffix('.partial').rsplit('-', 1)[1]}" in capsys.readouterr().err
