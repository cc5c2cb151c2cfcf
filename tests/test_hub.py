"""Hub benchmarks are pinned to a revision; offline is detected once and said once (issue #14)."""

import pytest

from harness import hub
from harness.cli import main
from harness.eval.hub_benchmarks import HUB_BENCHMARKS


@pytest.fixture
def undecided(monkeypatch):
    """A process that has not yet decided whether it is offline, with no offline variable set."""
    import datasets.config
    import huggingface_hub.constants

    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)  # restored after the test, as is what offline mode sets
        for module in (huggingface_hub.constants, datasets.config):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, False)
    hub.reset()
    yield
    hub.reset()


def test_every_hub_benchmark_is_pinned_to_a_commit():
    for bench in HUB_BENCHMARKS:
        assert bench.revision and len(bench.revision) == 40 and int(bench.revision, 16) >= 0, bench.name


def test_hub_loads_ask_for_the_pinned_revision(monkeypatch):
    import datasets

    asked = []

    def load_dataset(path, name=None, split=None, revision=None, **kwargs):
        asked.append((path, revision))
        return [{"id": "1", "problem": "2 + 2?", "answer": "4"}]

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    (aime24,) = [b for b in HUB_BENCHMARKS if b.name == "aime24"]
    assert [p.answer for p in aime24.load()] == ["4"]
    assert asked == [("HuggingFaceH4/aime_2024", aime24.revision)]


def test_offline_is_probed_once_and_said_once(undecided, monkeypatch, capsys, tmp_path):
    import datasets

    probes, loads = [], []
    monkeypatch.setattr(hub, "_reachable", lambda host, port: probes.append(host) or False)

    def load_dataset(*args, **kwargs):
        import os

        loads.append(os.environ.get("HF_HUB_OFFLINE"))  # offline mode is on before any load: no retries
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    assert main(["benchmarks", "--store", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert probes == ["huggingface.co"] and loads == ["1"] * len(HUB_BENCHMARKS)
    offline = [line for line in err.splitlines() if "offline" in line]
    assert len(offline) == 1 and "huggingface.co:443 is unreachable" in offline[0]
    assert "aime24, aime25, amc12, math500" in offline[0]


def test_offline_variable_decides_without_a_probe(undecided, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "_reachable", lambda host, port: pytest.fail("probed although HF_HUB_OFFLINE is set"))
    assert hub.offline_reason() == "HF_HUB_OFFLINE is set"


def test_contamination_lookups_neither_probe_nor_decide(undecided, monkeypatch, tmp_path):
    """The teacher's contamination check reads Hub benchmarks from the cache only: no network, no decision."""
    from harness.teacher.contamination import load_benchmarks

    monkeypatch.setattr(hub, "_reachable", lambda host, port: pytest.fail("probed during a cache-only lookup"))
    loaded, unavailable = load_benchmarks(None, ["aime24", "synth_routine"])
    assert [b.name for b in loaded] == ["synth_routine"] and "aime24" in unavailable
    assert not hub._decided
