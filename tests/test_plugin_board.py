"""The README's plugin method, installed as a package, on a rendered leaderboard (issue 15, acceptance 3).

The package is built from the README's own text (its `pyproject.toml` and
`keep_short/__init__.py`) and installed as pip installs it: the module and a
`.dist-info` folder whose `entry_points.txt` carries the pyproject's entry points, on
`sys.path`. `harness run` finds it through the entry point, runs it beside `full_cot`,
and `harness leaderboard` renders its rows, its paired comparison with the baseline, and
(as any method) can take it as the baseline itself. Its code imports nothing from `palign`.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.cli import main
from harness.engine_cache import EngineCache
from harness.methods import METHODS
from test_pipeline import Fakes, run
from test_structure import import_graph

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_block(caption: str, language: str) -> str:
    """The fenced block that follows a caption line such as "`pyproject.toml`:" in the README."""
    match = re.search(rf"^{re.escape(caption)}\n\n```{language}\n(.*?)^```", README.read_text(encoding="utf-8"),
                      re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no {language} block after {caption!r}"
    return match.group(1)


def install(site: Path) -> dict:
    """Install the README's package into `site` as pip would: the module, and its dist-info."""
    pyproject = tomllib.loads(readme_block("`pyproject.toml`:", "toml"))["project"]
    package = site / "keep_short"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(readme_block("`keep_short/__init__.py`:", "python"), encoding="utf-8")
    dist = site / f"{pyproject['name'].replace('-', '_')}-{pyproject['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {pyproject['name']}\n"
                                   f"Version: {pyproject['version']}\n", encoding="utf-8")
    groups = pyproject["entry-points"]
    (dist / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items()) + "\n"
        for group, entries in groups.items()), encoding="utf-8")
    return pyproject


def fake_evaluate(engine, benchmark, cfg, work_dir, seed, enable_thinking=None):
    """Per-sample outcomes that follow what the model was trained on, so two methods differ."""
    trained_on = json.loads((Path(engine.model_id) / "config.json").read_text()).get("trained_on", [])
    salt = len(json.dumps(trained_on))
    samples = [{"index": i, "id": f"b{i}", "sample": 0, "outcome": "correct" if (salt + i) % 3 else "incorrect",
                "extracted": str(i), "num_tokens": 10 + salt % 7} for i in range(3)]
    correct = sum(s["outcome"] == "correct" for s in samples) / len(samples)
    return {"benchmark": benchmark, "checksum": "sha256:fake", "num_problems": 3,
            "metrics": {"pass@1": correct, "pass@1_ci": [0.0, 1.0], "mean_tokens": 10.0, "num_problems": 3, "n": 1},
            "samples": samples}


@pytest.fixture
def installed(tmp_path, monkeypatch, tiny_model_dir, isolate):
    """The plugin on sys.path, the method registry rescanned, the heavy stages faked."""
    isolate(METHODS)  # built-ins kept, entry points rescanned as a fresh process would; restored after the test
    monkeypatch.delitem(sys.modules, "keep_short", raising=False)
    site = tmp_path / "site-packages"
    pyproject = install(site)
    monkeypatch.syspath_prepend(str(site))
    fakes = Fakes(monkeypatch, tiny_model_dir)
    monkeypatch.setattr(EngineCache, "get", lambda self, model: SimpleNamespace(model_id=model))
    monkeypatch.setattr("harness.eval.runner.evaluate_benchmark", fake_evaluate)
    return SimpleNamespace(site=site, pyproject=pyproject, fakes=fakes)


def test_the_readme_plugin_is_on_the_leaderboard_with_its_paired_comparison(tmp_path, installed, capsys,
                                                                            committed_tree):
    assert "keep_short" in METHODS.names()
    records = tmp_path / "boards" / "plugin" / "records"
    records.mkdir(parents=True)
    assert run(tmp_path, "--method", "keep_short", "--method", "full_cot", "--set", "method.params.sentences=5",
               "--json", str(records / "seed0.json")) == 0
    assert installed.fakes.calls["train"] == 2
    board = tmp_path / "boards" / "README.md"
    assert main(["leaderboard", "--records", str(tmp_path / "boards"), "--out", str(board)]) == 0

    text = board.read_text(encoding="utf-8")
    results, paired = _section(text, "### Results"), _section(text, "### Paired comparison with `full_cot`")
    assert _row(results, "keep_short") and _row(results, "full_cot")
    assert _row(paired, "keep_short")[2].strip().startswith(("+", "-"))  # a signed difference, not "—"
    assert "keep_short − full_cot:" in _section(text, "### Findings")

    # The baseline is a setting, and a plugin can be it like any method.
    (records.parent / "board.yaml").write_text("baseline: keep_short\n")
    assert main(["leaderboard", "--records", str(tmp_path / "boards"), "--out", str(board)]) == 0
    paired = _section(board.read_text(encoding="utf-8"), "### Paired comparison with `keep_short`")
    assert _row(paired, "full_cot") and not _row(paired, "keep_short")


def test_the_readme_plugin_imports_nothing_from_palign(tmp_path, installed):
    source = (installed.site / "keep_short" / "__init__.py").read_text(encoding="utf-8")
    imported = {alias.name if isinstance(node, ast.Import) else node.module
                for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert imported and not [m for m in imported if m == "palign" or m.startswith("palign.")]
    # Nor through the harness modules it uses, lazily or not.
    graph, reached, todo = import_graph(), set(), [m for m in imported if m.startswith("harness")]
    while todo:
        module = todo.pop()
        if module in graph and module not in reached:
            reached.add(module)
            todo += graph[module]
    assert reached and not [m for m in reached if m.split(".")[0] == "palign"]
    # And importing it loads no palign module.
    probe = "import sys, keep_short; print(sorted(m for m in sys.modules if m.split('.')[0] == 'palign'))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**_env(), "PYTHONPATH": f"{installed.site}:{_repo()}"})
    assert out.stdout.strip() == "[]"


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n### ", start + len(heading))
    return text[start:end if end >= 0 else len(text)]


def _row(section: str, label: str) -> list[str] | None:
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) > 2 and cells[1].strip() == label:
            return cells[1:-1]
    return None


def _repo() -> str:
    return str(README.parent)


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
