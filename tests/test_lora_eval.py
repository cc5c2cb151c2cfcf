"""A LoRA-trained student is evaluated as the trained model, never as its base (issue #31).

lm-eval #2432: vLLM given a base model and a LoRA adapter evaluated the base. The trainer merges
the adapter into a plain model folder, both engines are given that folder, and a folder that
holds only an adapter is refused in one line instead of being evaluated as something else.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.config import EngineConfig, SamplingConfig, TrainConfig, resolve_run_config
from harness.engines import GenerationRequest, load_engine
from harness.errors import HarnessError
from harness.eval.prompts import render_prompt
from harness.fingerprint import model_fingerprint
from harness.trainer import train_sft
from test_engines_vllm import standin_log
from test_trainer import write_sft

# A learning rate far above a real run's, so a few steps move the merged weights visibly.
LORA = TrainConfig(budget="steps", max_steps=6, learning_rate=5e-2, per_device_train_batch_size=8, warmup_ratio=0.0,
                   max_length=128, save_steps=1000, logging_steps=2, use_lora=True, lora_r=4, lora_alpha=8,
                   lora_dropout=0.0)
CPU = EngineConfig(name="transformers", device="cpu", dtype="float32")
PROBLEM = "Tom has 3 apples and buys 4 more. How many apples does he have?"


@pytest.fixture(scope="module")
def lora_student(tiny_model_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lora-student")
    train_sft(str(tiny_model_dir), write_sft(folder / "sft.jsonl", 16), folder / "model", LORA, seed=0)
    return folder / "model"


def test_the_transformers_engine_serves_the_trained_weights(lora_student, tiny_model_dir):
    import torch

    trained, base = load_engine(str(lora_student), CPU), load_engine(str(tiny_model_dir), CPU)
    assert trained.model_id == str(lora_student)
    prompt = render_prompt(trained.tokenizer, PROBLEM, "Please reason step by step.")
    assert prompt == render_prompt(base.tokenizer, PROBLEM, "Please reason step by step.")  # one prompt for both
    ids = trained.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        logits = trained.model(**ids).logits[0, -1], base.model(**ids).logits[0, -1]
    assert not torch.allclose(*logits, atol=1e-3), "the trained engine's logits are the base model's"
    greedy = SamplingConfig(temperature=0.0, max_new_tokens=16)
    request = [GenerationRequest(prompt, "lora/1", [0])]
    assert trained.generate(request, greedy)[0][0].text != base.generate(request, greedy)[0][0].text


@pytest.mark.parametrize("engine", ["transformers", "vllm"])
def test_eval_of_a_lora_student_is_the_merged_folder(engine, lora_student, tiny_model_dir, tmp_path, request):
    """`harness eval` (and a run's eval stage) loads the merged folder itself: the transformers engine
    generates other text than the base's, and vLLM is given the folder and its merged weights, with no adapter."""
    from harness.commands.eval_cmd import evaluate
    from harness.eval.runner import GENERATIONS
    from harness.store import RunStore

    log = request.getfixturevalue("vllm_standin") if engine == "vllm" else None
    data = tmp_path / "data"
    data.mkdir()
    rows = [{"id": f"p{i}", "problem": f"Tom has {i} apples and buys {i + 2} more.", "answer": str(2 * i + 2)}
            for i in range(1, 4)]
    (data / "aime24.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))

    def texts(model: Path) -> tuple[dict, list[str]]:
        cfg = resolve_run_config(None, None, [
            {"student": {"model": str(model)}, "engine": {**({"device": "cpu", "dtype": "float32"} if engine == "transformers" else {}), "name": engine},
             "eval": {"benchmarks": ["aime24"], "data_dir": str(data), "sampling": {"max_new_tokens": 16}}}])
        paths: dict = {}
        result = evaluate(cfg, RunStore(tmp_path / "store"), paths=paths)["aime24"]
        lines = (paths["aime24"].parent / GENERATIONS).read_text().splitlines()
        return result["generation"], [json.loads(line)["text"] for line in lines]

    generation, trained = texts(lora_student)
    assert generation["model"] == str(lora_student) and generation["engine"] == engine
    assert generation["model_fingerprint"] == model_fingerprint(str(lora_student)) != model_fingerprint(str(tiny_model_dir))
    if engine == "transformers":
        assert trained != texts(tiny_model_dir)[1], "the LoRA student generated what its base generates"
    else:
        from vllm import weights_digest

        (made,) = [line for line in standin_log(log) if line["event"] == "init"]
        assert made["kwargs"]["model"] == str(lora_student)
        assert not {"enable_lora", "lora_modules", "lora_request"} & set(made["kwargs"])
        assert made["weights"] == weights_digest(lora_student) != weights_digest(tiny_model_dir)


@pytest.mark.parametrize("engine", ["transformers", "vllm"])
@pytest.mark.parametrize("beside", [[], ["config.json"]])
def test_an_adapter_folder_is_refused_not_evaluated_as_its_base(engine, beside, lora_student, tmp_path, request):
    """A folder holding an adapter (alone, or beside a copied config.json) is never handed to an
    engine, whichever way that engine would have read it."""
    log = request.getfixturevalue("vllm_standin") if engine == "vllm" else None
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/base", "peft_type": "LORA"}))
    (adapter / "adapter_model.safetensors").write_bytes(b"")
    for name in beside:
        shutil.copy(lora_student / name, adapter / name)
    with pytest.raises(HarnessError, match=r"holds a LoRA adapter of org/base \(adapter_config.json\), not a merged "
                                           r"model.*merge it first") as err:
        load_engine(str(adapter), EngineConfig(name=engine))
    assert "\n" not in str(err.value)
    assert not (log and standin_log(log))  # vLLM was never started on it
    assert not (lora_student / "adapter_config.json").exists()  # the trainer's folder is merged: no adapter left


def test_a_run_on_an_adapter_folder_stops_at_its_checks(tmp_path):
    from harness import preflight
    from harness.store import RunStore

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/base"}))
    cfg = resolve_run_config(None, None, [{"student": {"model": str(adapter)}}])
    (student,) = [c for c in preflight.data_checks(cfg, RunStore(tmp_path / "store")) if c.name == "student"]
    assert not student.ok and "holds a LoRA adapter of org/base" in student.detail and "(--student PATH)" in student.detail
    with pytest.raises(HarnessError, match="holds a LoRA adapter"):
        model_fingerprint(str(adapter))  # what every stage keys a model by: never an adapter's files alone
