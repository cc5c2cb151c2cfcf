"""`python tests/fake_cli.py ARGS...`: the real `harness` CLI in its own process, heavy pieces faked.

For tests that need several harness processes at once on one store. `harness run` gets
the fakes of `test_pipeline.Fakes` (the student folder is `$FAKE_STUDENT`); `harness eval`
gets the real runner and grader with `EchoEngine`, a model-free engine. `$FAKE_DELAY`
seconds of sleep in training, each evaluation and each engine call widen the windows in
which two processes overlap. Each process writes its heavy-call counts to
`$FAKE_CALLS/<pid>.json` when `$FAKE_CALLS` is set.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402

from fakes import FakeTokenizer  # noqa: E402
from harness.engines.base import Completion  # noqa: E402

DELAY = float(os.environ.get("FAKE_DELAY") or 0)


class EchoEngine:
    """Replies with a boxed number derived from the prompt: deterministic, and right for some problems."""

    name = "echo"
    max_context = None
    chunk_size = 8

    def __init__(self, model: str, calls: dict) -> None:
        self.model_id, self.tokenizer, self.calls = model, FakeTokenizer(), calls

    def generate(self, requests, sampling):
        self.calls["generate"] = self.calls.get("generate", 0) + 1
        time.sleep(DELAY / 4)
        return [[Completion(f"It is \\boxed{{{len(r.prompt) % 7}}}.", 6, "stop") for _ in r.sample_indices]
                for r in requests]


def main(argv: list[str]) -> int:
    from harness.cli import main as harness_main

    patch = pytest.MonkeyPatch()
    calls: dict = {}
    if argv[0] == "run":
        from test_pipeline import Fakes

        fakes = Fakes(patch, Path(os.environ["FAKE_STUDENT"]))
        calls = fakes.calls
        train, evaluate = fakes.train, fakes.evaluate

        def slow_train(*args, **kwargs):
            time.sleep(DELAY)
            return train(*args, **kwargs)

        def slow_evaluate(*args, **kwargs):
            time.sleep(DELAY / 2)
            return evaluate(*args, **kwargs)

        patch.setattr("harness.trainer.train_sft", slow_train)
        patch.setattr("harness.eval.runner.evaluate_benchmark", slow_evaluate)
    elif argv[0] == "eval":
        patch.setattr("harness.engines.load_engine", lambda model, cfg: EchoEngine(model, calls))
    try:
        return harness_main(argv)
    finally:
        if os.environ.get("FAKE_CALLS"):
            Path(os.environ["FAKE_CALLS"]).mkdir(parents=True, exist_ok=True)
            (Path(os.environ["FAKE_CALLS"]) / f"{os.getpid()}.json").write_text(json.dumps(calls))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
