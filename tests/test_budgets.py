"""Accuracy against token budget from one generation pass (issue #31, acceptance 3).

With per-sample seeded sampling, a generation cut at B tokens is the generation that
`max_new_tokens=B` makes: `harness eval --budgets` on the synthetic world's benchmark must give,
at each budget, the samples (tokens, text, finish reason, outcome) of a fresh evaluation with
that cap, sample for sample.
"""

import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from harness.cli import main
from harness.config import EvalConfig
from harness.errors import HarnessError
from harness.eval.benchmarks import Problem
from harness.eval.budgets import at_budget, cut_samples, truncate
from harness.eval.runner import GENERATIONS
from harness.jsonl import write_jsonl

CAP = 40


def _eval(model, store: Path, out: Path, cap: int, *extra: str) -> dict:
    argv = ["eval", "--store", str(store), "--model", str(model), "--benchmarks", "synth_target", "--limit", "6",
            "--n", "3", "--k", "1,3", "--temperature", "1.0", "--max-new-tokens", str(cap), "--seed", "3",
            "--batch-size", "4", "--json", str(out), *extra]
    assert main(argv) == 0
    return json.loads(out.read_text())["benchmarks"]["synth_target"]


def _generations(store: Path, result: dict) -> dict:
    for folder in store.glob("eval/synth_target-*"):
        if json.loads((folder / "result.json").read_text())["generation"]["key"] == result["generation"]["key"]:
            return {(r["id"], r["sample"]): r for r in map(json.loads, (folder / GENERATIONS).read_text().splitlines())}
    raise AssertionError("no stored generations for this result")


def test_budgets_equal_fresh_evaluations_with_that_cap_sample_for_sample(tiny_model_dir, tmp_path, capsys):
    store = tmp_path / "store"
    first = _eval(tiny_model_dir, store, tmp_path / "first.json", CAP)
    # Budgets read off the samples: one exactly where the earliest sample stopped (it must stay,
    # with finish_reason "stop", and a sample that stopped later must be cut), one between it and the cap.
    stops = sorted({s["num_tokens"] for s in first["samples"] if s["finish_reason"] == "stop" and s["num_tokens"] < CAP})
    assert len(stops) >= 2, "the random student should stop early in a few samples"
    budgets = [stops[0], (stops[0] + CAP) // 2]
    capsys.readouterr()
    # the stored evaluation is read back, and each budget costs no generation
    full = _eval(tiny_model_dir, store, tmp_path / "full.json", CAP, "--budgets", ",".join(map(str, budgets)))
    err = capsys.readouterr().err
    assert "reused eval" in err and "generate" not in err and "accuracy against token budget" in err
    assert {k: v for k, v in full.items() if k != "budgets"} == first and sorted(full["budgets"], key=int) == list(map(str, budgets))
    stored = _generations(store, full)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    for budget in budgets:
        fresh = _eval(tiny_model_dir, store, tmp_path / f"fresh{budget}.json", budget)
        at = full["budgets"][str(budget)]
        assert at_budget(full["samples"], at["cut_samples"]) == fresh["samples"]  # outcome, answer, tokens, finish
        assert at["metrics"] == fresh["metrics"]
        regenerated = _generations(store, fresh)
        for key, gen in stored.items():
            cut = truncate(gen, budget, tokenizer)
            assert (cut["text"], cut["token_ids"], cut["num_tokens"], cut["finish_reason"]) == (
                regenerated[key]["text"], regenerated[key]["token_ids"], regenerated[key]["num_tokens"],
                regenerated[key]["finish_reason"]), (budget, key)
        # not vacuous: every budget cuts samples that ran to the cap and keeps samples that stopped within it
        lengths = [(s["num_tokens"], s["finish_reason"]) for s in full["samples"]]
        assert any(n > budget and f == "length" for n, f in lengths) and any(n <= budget for n, _ in lengths)
        assert len(at["cut_samples"]) == sum(n > budget for n, _ in lengths)
        assert all(c["finish_reason"] == "length" and c["num_tokens"] == budget for c in at["cut_samples"])
    cut_at_first = {(c["id"], c["sample"]) for c in full["budgets"][str(budgets[0])]["cut_samples"]}
    assert any((s["id"], s["sample"]) in cut_at_first and s["finish_reason"] == "stop" for s in full["samples"])


def test_a_cut_sample_is_graded_again_on_its_cut_text(tiny_model_dir, tmp_path):
    """A model that boxes an answer and then talks on: cut after the first box, it is right."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = "So \\boxed{12} is it. Wait, 3 * 4 = 12, so \\boxed{19}"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    budget = next(b for b in range(1, len(ids)) if "\\boxed{12}" in tokenizer.decode(ids[:b], skip_special_tokens=True))
    gens = [{"key": "k", "index": 0, "id": "p0", "sample": 0, "text": text, "num_tokens": len(ids),
             "finish_reason": "length", "token_ids": ids},
            {"key": "k", "index": 0, "id": "p0", "sample": 1, "text": "\\boxed{12}", "num_tokens": 3,
             "finish_reason": "stop", "token_ids": [1, 2, 3]}]
    eval_dir = tmp_path / "eval"
    write_jsonl(eval_dir / GENERATIONS, gens)
    samples = [{"index": 0, "id": "p0", "sample": 0, "outcome": "incorrect", "extracted": "19",
                "num_tokens": len(ids), "finish_reason": "length"},
               {"index": 0, "id": "p0", "sample": 1, "outcome": "correct", "extracted": "12", "num_tokens": 3,
                "finish_reason": "stop"}]
    result = {"benchmark": "b", "samples": samples, "generation": {"key": "k"}}
    problems = [Problem("p0", "What is 3 * 4?", "12")]
    cfg = EvalConfig(grader_workers=1)
    (cut,) = cut_samples(result, eval_dir, problems, cfg, budget, lambda: tokenizer, tmp_path / "work")
    assert (cut["sample"], cut["outcome"], cut["num_tokens"], cut["finish_reason"]) == (0, "correct", budget, "length")
    # generations made before token ids were kept cannot be cut: one line, naming the fix
    write_jsonl(eval_dir / GENERATIONS, [{k: v for k, v in g.items() if k != "token_ids"} for g in gens])
    with pytest.raises(HarnessError, match="has no token ids.*--force"):
        cut_samples(result, eval_dir, problems, cfg, budget, lambda: tokenizer, tmp_path / "work2")


@pytest.mark.parametrize("extra,needle", [
    (["--budgets", "8,64"], "--budgets has 64, above --max-new-tokens (40)"),
    (["--budgets", "8,x"], "--budgets must be comma-separated integers"),
    (["--budgets", "0"], "--budgets must each be at least 1"),
    (["--set", "eval.budgets=[41]"], "eval.budgets has 41, above eval.sampling.max_new_tokens (40)"),
])
def test_bad_budgets_are_one_line_before_any_model(extra, needle, tmp_path, capsys):
    argv = ["eval", "--store", str(tmp_path), "--model", str(tmp_path / "absent"), "--benchmarks", "synth_target",
            "--max-new-tokens", "40", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
