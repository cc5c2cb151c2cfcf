"""lm-eval interop: an exported task scored by lm-eval (as a library, offline) agrees
sample by sample with the harness's own evaluation of the same tiny checkpoint."""

import json

import pytest
import yaml

from harness.cli import main
from harness.config import EngineConfig, EvalConfig, SamplingConfig
from harness.engines import GenerationRequest, load_engine
from harness.eval.grading import grade_many
from harness.eval.lmeval_export import export_task
from harness.eval.prompts import render_prompt
from harness.eval.runner import evaluate_benchmark

PROBLEMS = [
    "Tom has 12 apples and buys 7 more. How many apples?",
    "Let x = 14/3. What is 3x?",
    "What is 3 * 4?",
    "Compute the sum, then subtract 19.",
    "Wait, check again: 12 + 7 = ?",
    "First compute 2 + 2.",
    "How many apples does Tom have after buying 3?",
    "Put your final answer in a box: 5 + 5.",
    "Reason step by step: 9 - 4.",
    "What is 1 + 19?",
]
GREEDY = SamplingConfig(temperature=0.0, max_new_tokens=24)
INSTRUCTION = "Solve."  # short prompts keep the fixture's training quick


@pytest.fixture(scope="module")
def answering_model(tiny_model_dir, tmp_path_factory):
    """The random micro model, briefly overfit to box an answer after each prompt.

    A random model only prints newlines, which would make any comparison of scores
    vacuous; this one writes answers (right or wrong), so the graders have work to do.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    texts = [
        render_prompt(tok, p, INSTRUCTION) + f"So \\boxed{{{(7 * i) % 20}}}.<|im_end|>"
        for i, p in enumerate(PROBLEMS[:6])
    ]
    batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    labels = batch.input_ids.masked_fill(batch.attention_mask == 0, -100)
    torch.manual_seed(0)
    optim = torch.optim.AdamW(model.parameters(), lr=3e-2)
    model.train()
    for _ in range(40):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optim.step()
        optim.zero_grad()
    out = tmp_path_factory.mktemp("answering-model")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _write(path, golds):
    rows = [{"id": f"Q{i}", "problem": p, "answer": g} for i, (p, g) in enumerate(zip(PROBLEMS, golds))]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.slow  # ~30 CPU-seconds: lm-eval start-up, a short fit, two generation passes
def test_lm_eval_scores_exported_task_like_the_harness(answering_model, tmp_path):
    lm_eval = pytest.importorskip("lm_eval")
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    engine = load_engine(str(answering_model), EngineConfig(name="transformers", batch_size=1))
    cfg = EvalConfig(n=1, k=[1], sampling=GREEDY, instruction=INSTRUCTION, data_dir=str(tmp_path / "data"), grader_workers=1)
    # Gold answers built from what the model itself answers: right for some, wrong for others.
    texts = [c[0].text for c in engine.generate(
        [GenerationRequest(render_prompt(engine.tokenizer, p, cfg.instruction), str(i), [0]) for i, p in enumerate(PROBLEMS)], GREEDY)]
    extracted = [g.extracted for g in grade_many(["0"] * len(texts), texts, workers=1)]
    answered = [i for i, e in enumerate(extracted) if e is not None]
    assert len(answered) >= 2, f"the tiny model should produce some extractable answers: {texts}"
    golds = ["123456789"] * len(PROBLEMS)
    for rank, i in enumerate(answered):
        golds[i] = extracted[i] if rank % 2 == 0 else "123456789"
    (tmp_path / "data").mkdir()
    _write(tmp_path / "data" / "aime24.jsonl", golds)

    ours = evaluate_benchmark(engine, "aime24", cfg, tmp_path / "work", seed=0)
    our_outcomes = {s["id"]: s["outcome"] == "correct" for s in ours["samples"]}
    assert 0 < sum(our_outcomes.values()) < len(PROBLEMS)

    yaml_path = export_task("aime24", tmp_path / "task", cfg, task_name="harness_test_aime")
    results = lm_eval.simple_evaluate(
        model=HFLM(pretrained=str(answering_model), device="cpu", batch_size=1),
        tasks=["harness_test_aime"],
        task_manager=TaskManager(include_path=str(yaml_path.parent)),
        apply_chat_template=True,
        log_samples=True,
    )
    logged = results["samples"]["harness_test_aime"]
    theirs = {s["doc"]["id"]: s["acc"] == 1.0 for s in logged}
    assert theirs == our_outcomes
    their_texts = {s["doc"]["id"]: s["resps"][0][0] for s in logged}
    ours_texts = {f"Q{i}": t for i, t in enumerate(texts)}
    assert their_texts == ours_texts
    assert results["results"]["harness_test_aime"]["acc,none"] == pytest.approx(ours["metrics"]["pass@1"])


def test_export_command_writes_a_task_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write(data / "math500.jsonl", ["1"] * len(PROBLEMS))
    out = tmp_path / "task"
    assert main(["export-lm-eval", "--benchmark", "math500", "--data-dir", str(data), "--out", str(out), "--n", "3", "--k", "1,3", "--temperature", "0.6"]) == 0
    text = (out / "harness_math500.yaml").read_text()
    assert "process_results: !function utils.process_results" in text
    spec = yaml.safe_load(text.replace("!function ", ""))
    assert spec["repeats"] == 3 and spec["generation_kwargs"]["do_sample"] is True
    assert [m["metric"] for m in spec["metric_list"]] == ["acc", "pass@3"]
    rows = [json.loads(line) for line in (out / "harness_math500.jsonl").read_text().splitlines()]
    assert len(rows) == len(PROBLEMS) and rows[0]["query"].endswith("\n" + PROBLEMS[0])
    assert "from harness.eval.grading import Grader" in (out / "utils.py").read_text()
    assert main(["export-lm-eval", "--benchmark", "math500", "--data-dir", str(data), "--out", str(out), "--k", "2"]) == 2
