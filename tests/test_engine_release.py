"""Engines are released between stages (issue 15, acceptance 1), with real engines on CPU.

A run of two methods loads real transformers engines on a tiny model: the student's (a
method that generates) and each trained model's (evaluation). Weak references to every
engine's model and weights show, at the moment training starts and at the moment each
result is stored, that no reference is left: the weights are freed, not merely dropped
from a cache. Training and grading are faked; loading, generation and release are real.
"""

from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass, field

import pytest

from harness import stages
from harness.config import SamplingConfig
from harness.engine_cache import EngineCache
from harness.engines import GenerationRequest
from harness.methods import METHODS, MethodResult, SFTExample, register_method
from test_pipeline import Fakes, run

PROBE = "engine_probe"


@dataclass
class Loaded:
    """One engine the run loaded, held only through weak references."""

    model_path: str
    engine: weakref.ref
    weights: list[weakref.ref] = field(default_factory=list)

    def alive(self) -> bool:
        return self.engine() is not None or any(w() is not None for w in self.weights)


class Watch:
    """Records every engine the run loads, and which of them are still alive at given moments."""

    def __init__(self, monkeypatch) -> None:
        import harness.engines.hf as hf

        import harness.engines.base as base

        self.loaded: list[Loaded] = []
        self.moments: list[tuple[str, list[str]]] = []
        self.returned: list[int] = []  # memory hand-backs (free_memory calls) before each moment
        self._frees = 0
        real_init, real_free = hf.HFEngine.__init__, base.free_memory

        def init(engine, model, cfg, *args, **kwargs):
            real_init(engine, model, cfg, *args, **kwargs)
            weights = [weakref.ref(engine.model), *(weakref.ref(p) for p in engine.model.parameters())]
            self.loaded.append(Loaded(str(model), weakref.ref(engine), weights))

        def free_memory():
            self._frees += 1
            real_free()

        monkeypatch.setattr(hf.HFEngine, "__init__", init)
        monkeypatch.setattr(base, "free_memory", free_memory)

    def check(self, moment: str) -> None:
        self.returned.append(self._frees)
        gc.collect()  # only a reference the run still holds keeps an engine alive now
        self.moments.append((moment, [e.model_path for e in self.loaded if e.alive()]))


def _probe(traces, params, ctx):
    """Generates with the student's engine (so it is loaded), then trains on the teacher's CoTs."""
    ctx.engine.generate([GenerationRequest("Tom has 12 apples.", "probe/0", [0])], SamplingConfig(max_new_tokens=2))
    return MethodResult([SFTExample(t.id, t.problem, t.long_cot) for t in traces], {"kept": len(traces)})


@pytest.fixture
def watched_run(monkeypatch, tiny_model_dir):
    fakes = Fakes(monkeypatch, tiny_model_dir)
    monkeypatch.setattr(EngineCache, "get", _REAL_GET)  # real engines: Fakes would hand out fake ones
    METHODS.names()  # the built-ins register on first use, into the registry's own dict
    monkeypatch.setattr(METHODS, "_entries", dict(METHODS._entries))  # the probe joins them for this test only
    register_method(PROBE, description="test: loads the student's engine")(_probe)
    watch = Watch(monkeypatch)
    train, result = fakes.train, stages.stage_result

    def watched_train(model, data, output_dir, cfg, seed=0):
        watch.check(f"training on {model}")
        return train(model, data, output_dir, cfg, seed)

    def watched_result(cfg, store, record, upstream):
        watch.check(f"result of {record['method']}")
        return result(cfg, store, record, upstream)

    monkeypatch.setattr("harness.trainer.train_sft", watched_train)
    monkeypatch.setattr(stages, "stage_result", watched_result)
    return watch


_REAL_GET = EngineCache.get


def test_the_student_engine_is_released_before_training_and_each_model_after_its_eval(
        tmp_path, tiny_model_dir, watched_run):
    watch = watched_run
    assert run(tmp_path, "--method", PROBE, "--method", "full_cot", "--method", "none",
               "--set", "engine.name=transformers", "--set", "engine.device=cpu") == 0
    watch.check("end of the run")
    student = str(tiny_model_dir)
    trained = [e.model_path for e in watch.loaded if e.model_path != student]
    # The student's engine was loaded by the probe, each trained model's by its evaluation,
    # and the student's again by `none`'s evaluation.
    assert [e.model_path for e in watch.loaded] == [student, trained[0], trained[1], student]
    assert watch.moments == [
        (f"training on {student}", []),  # the probe's student engine is gone before training
        (f"result of {PROBE}", []),  # the trained model's engine is gone once its benchmarks are done
        (f"training on {student}", []),
        ("result of full_cot", []),
        ("result of none", [student]),  # an untrained student's engine may serve the next method
        ("end of the run", []),
    ]
    # Each release handed the memory back (on a GPU, free_memory also empties CUDA's cache):
    # before the first training, after each trained model's evaluation, and at the end.
    assert watch.returned[0] >= 1 and watch.returned[1] > watch.returned[0] and watch.returned[3] > watch.returned[2]
    assert watch.returned[5] > watch.returned[4]


def test_the_check_fails_when_an_engine_is_kept(tmp_path, tiny_model_dir, watched_run, monkeypatch):
    """The weak references see a kept engine: a cache that never releases fails the test above."""
    monkeypatch.setattr(EngineCache, "release", lambda self, model=None: None)
    watch = watched_run
    assert run(tmp_path, "--method", PROBE, "--set", "engine.name=transformers", "--set", "engine.device=cpu") == 0
    assert watch.moments[0] == (f"training on {tiny_model_dir}", [str(tiny_model_dir)])
