import os

# Tests never reach a hub: everything they need is made locally.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import json
import sys
from contextlib import ExitStack

import pytest

_CORPUS = [
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "Tom has 12 apples and buys 7 more. 12 + 7 = 19. The answer is \\boxed{19}.",
    "Wait, let me check that again. 3 * 4 = 12, so the total is 12. Therefore \\boxed{12}.",
    "First compute the sum, then subtract. ENOUGH NOT_ENOUGH <Begin_of_Prefix> <End_of_Prefix>",
    "Let x = \\frac{14}{3}. Then 3x = 14. <think> hmm </think> Final answer: \\boxed{\\frac{14}{3}}",
] * 20


def make_tiny_model(path, arch: str = "qwen2", size: str = "micro", seed: int = 0):
    """A randomly initialised model of a real architecture with a locally trained tokenizer."""
    from harness.synth.models import save_random_model

    return save_random_model(path, _CORPUS, arch=arch, size=size, context_length=512, vocab_size=400, seed=seed)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A random tiny Qwen2 folder (micro size) with a trained tokenizer and chat template."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="session")
def tiny_qwen3_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny-qwen3"), arch="qwen3")


@pytest.fixture
def committed_tree(monkeypatch):
    """Records made in this test name a clean commit, whatever state the checkout is in: tests that
    write board records must not pass in CI's clean clone and fail in a working tree."""
    monkeypatch.setattr("harness.manifest.git_commit", lambda: "0" * 40)


@pytest.fixture
def isolate():
    """`isolate(REGISTRY)`: forget its plugins and rescan its entry points on the next lookup;
    after the test the registry holds exactly what it held before (see `Registry.isolated`)."""
    with ExitStack() as stack:
        yield lambda registry: stack.enter_context(registry.isolated())


@pytest.fixture
def install_plugin(tmp_path, monkeypatch):
    """`install_plugin(dist, {module: source}, {group: {name: "module:object"}})`: a package laid
    out as pip leaves it (modules beside a `<dist>.dist-info` with `entry_points.txt`) on
    sys.path for this test, so `importlib.metadata.entry_points()` finds it as it would an
    installed one. Pair it with `isolate(REGISTRY)` so the registry rescans its group.

    `site`: the folder it goes to (default `site-<dist>` under the test's folder; name one
    `.../site-packages` for a plain `pip install`); `direct_url`: the dist-info's
    direct_url.json, as pip writes it for `pip install -e DIR` or `pip install DIR`."""

    def install(dist: str, modules: dict[str, str], groups: dict[str, dict[str, str]], version: str = "0.1",
                site=None, direct_url: dict | None = None):
        monkeypatch.setattr(sys, "dont_write_bytecode", True)  # a test that edits a module reads the edit
        site = site or tmp_path / f"site-{dist}"
        info = site / f"{dist}-{version}.dist-info"
        info.mkdir(parents=True)
        for module, source in modules.items():
            (site / f"{module}.py").write_text(source, encoding="utf-8")
            monkeypatch.delitem(sys.modules, module, raising=False)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
                                       encoding="utf-8")
        (info / "entry_points.txt").write_text("".join(
            f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items()) + "\n"
            for group, entries in groups.items()), encoding="utf-8")
        if direct_url is not None:
            (info / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")
        if str(site) not in sys.path:
            monkeypatch.syspath_prepend(str(site))
        return site

    return install


@pytest.fixture
def vllm_standin(monkeypatch, tmp_path):
    """The stand-in `vllm` package (`tests/fixtures/vllm_standin`) importable here and in spawned
    processes; returns the path of its JSONL log. Afterwards `vllm` is what it was before (absent,
    or the real package), so no later test finds the stand-in through `find_spec("vllm")`."""
    from pathlib import Path

    log = tmp_path / "vllm-standin.jsonl"
    monkeypatch.setenv("VLLM_STANDIN_LOG", str(log))
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "fixtures" / "vllm_standin"))
    for name in [n for n in sys.modules if n == "vllm" or n.startswith("vllm.")]:
        monkeypatch.delitem(sys.modules, name)
    yield log
    for name in [n for n in sys.modules if n == "vllm" or n.startswith("vllm.")]:
        del sys.modules[name]  # the stand-in's; monkeypatch then puts back any real one

