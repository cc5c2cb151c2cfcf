"""A plugin method's output is checked before its stage is published, and its code is in its key (issue 33).

The plugin is a package laid out as pip installs it (`install_plugin`). A bad output is one
line naming the method and its first bad example, and leaves no published method stage, so
the fixed plugin's rerun computes the stage without `--force`. The method key holds the
plugin's distribution and version, and the hash of its source when it is installed from a
local folder; the keys of the built-in methods do not move.
"""

from __future__ import annotations

import re

import shutil
import sys

import pytest

from harness import stages
from harness.config import resolve_run_config
from harness.method_runs import for_method
from harness.methods import METHODS, get_method
from harness.store import RunStore
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
    err = capsys.readouterr().err
    assert "its prompt is None" in err.strip().splitlines()[-1]
    failed_key = re.search(r"computing method (\w+)", err).group(1)
    # Nothing published, and nothing left to resume: the failed attempt's partial folder is gone too.
    assert _published(store) == [] and not list((store / "method").glob("*.partial"))

    (site / "echo_plugin.py").write_text(PLUGIN.format(returns=GOOD), encoding="utf-8")
    _reload(monkeypatch)
    assert run(tmp_path, "--method", "echo_answer") == 0
    (published,) = _published(store)
    assert published.rsplit("-", 1)[1] == failed_key  # the same key, computed this time
    assert fakes.calls["train"] == 1
    assert f"computing method {failed_key}" in capsys.readouterr().err


# --------------------------------------------------------------------------- the plugin's code in the method key

def _method_stage(tmp_path, name: str = "echo_answer"):
    cfg = for_method(resolve_run_config(), name)
    spec = get_method(name)
    return stages.method_stage(cfg, RunStore(tmp_path / "store"), spec, spec.params(), "teacher-key", "student-id")


def _edit(site, monkeypatch) -> None:
    (site / "echo_plugin.py").write_text(PLUGIN.format(returns=GOOD.replace("boxed", "fbox")), encoding="utf-8")
    _reload(monkeypatch)


def test_an_installed_plugin_s_key_holds_its_distribution_and_version(tmp_path, monkeypatch, install_plugin, isolate):
    isolate(METHODS)
    site = tmp_path / "venv" / "lib" / "site-packages"
    _install(install_plugin, tmp_path, GOOD, site=site)
    stage = _method_stage(tmp_path)
    assert stage.inputs["plugin"] == {"distribution": "harness-echo", "version": "0.1"}
    _edit(site, monkeypatch)
    assert _method_stage(tmp_path).key == stage.key  # a release is known by its version

    shutil.rmtree(site / "harness-echo-0.1.dist-info")
    _install(install_plugin, tmp_path, GOOD, version="0.2", site=site)
    _reload(monkeypatch)
    assert _method_stage(tmp_path).inputs["plugin"]["version"] == "0.2" and _method_stage(tmp_path).key != stage.key


@pytest.mark.parametrize("where", ["pip install -e DIR", "pip install DIR", "a folder outside site-packages"])
def test_a_plugin_from_a_local_folder_has_its_source_in_its_key(where, tmp_path, monkeypatch, install_plugin,
                                                                isolate):
    isolate(METHODS)
    url = {"url": f"file://{tmp_path}/src"}
    site, direct_url = {
        "pip install -e DIR": (tmp_path / "venv" / "site-packages", {**url, "dir_info": {"editable": True}}),
        "pip install DIR": (tmp_path / "venv" / "site-packages", {**url, "dir_info": {}}),
        "a folder outside site-packages": (tmp_path / "src", None),
    }[where]
    _install(install_plugin, tmp_path, GOOD, site=site, direct_url=direct_url)
    before = _method_stage(tmp_path)
    assert before.inputs["plugin"]["source"] and before.inputs["plugin"]["distribution"] == "harness-echo"
    assert _method_stage(tmp_path).key == before.key  # the same source, the same key
    _edit(site, monkeypatch)
    assert _method_stage(tmp_path).key != before.key


# Computed on the code before plugin identities entered the key (commit 0b24a06): built-in keys must not move,
# or the committed leaderboard's stages would all be recomputed.
BUILTIN_KEYS = {"full_cot": "020ea7c594e62b09", "palign": "571a6cddc3284a97", "none": "e6a1cdd239bc7046"}


@pytest.mark.parametrize("name", list(BUILTIN_KEYS))
def test_built_in_method_keys_do_not_move(name, tmp_path, install_plugin, isolate):
    isolate(METHODS)
    _install(install_plugin, tmp_path, GOOD)  # a plugin beside them changes nothing either
    stage = _method_stage(tmp_path, name)
    assert "plugin" not in stage.inputs and stage.key == BUILTIN_KEYS[name]
