"""Build (or reuse) a built-in student: `synth:tiny`, `synth:small`.

One store stage per (world settings, size) holds a standard model folder (tokenizer with
chat template, weights, generation config ending at `<|im_end|>`), a manifest, and the
measured stats (parameters, pretraining loss, base greedy accuracy per tier).
"""

from __future__ import annotations

import time
from pathlib import Path

from harness.config import WorldConfig
from harness.console import log
from harness.errors import HarnessError
from harness.jsonl import write_json
from harness.keys import world_inputs
from harness.manifest import build_manifest, now
from harness.store import RunStore
from harness.synth.models import SIZES, build_model, num_parameters
from harness.synth.pretrain import LEARNING_RATES, drill_examples, greedy_accuracy, pretrain, pretrain_examples, render
from harness.synth.problems import synth_problems
from harness.synth.teacher import synth_traces
from harness.synth.tokenizer import train_tokenizer

STUDENT_SIZES = ("tiny", "small")
ARCH = "qwen2"
VOCAB_SIZE = 1024
TOKENIZER_TRACES = 120  # teacher CoTs in the tokenizer corpus, so their words get merges too
EVAL_TIERS = ("routine", "target")
EVAL_SIZE = 50  # base greedy accuracy measured at build time, per tier (dev split)
MODEL_DIR = "model"


def tokenizer_corpus(world: WorldConfig) -> list[str]:
    """A fixed, sorted corpus: identical texts give a byte-identical tokenizer."""
    from harness.config import PAPER_INSTRUCTION

    texts = {PAPER_INSTRUCTION}
    for ex in pretrain_examples(world) + drill_examples(world):
        texts.update((ex.prompt, ex.prefix, ex.target))
    for rec in synth_traces(world, TOKENIZER_TRACES):
        texts.update((rec["problem"], rec["long_cot"], rec["short_cot"]))
    texts.discard("")
    # Every example carries the chat template's role names and the instruction: repeated here
    # so BPE gives them whole tokens instead of spending ~10 positions of each example on them.
    return sorted(texts) + ["user", "assistant", PAPER_INSTRUCTION] * 500


def build_tokenizer(world: WorldConfig):
    return train_tokenizer(tokenizer_corpus(world), vocab_size=VOCAB_SIZE)


def build_student(world: WorldConfig, size: str, out: Path, measure: bool = True) -> dict:
    """Tokenizer, model, pretraining and (optionally) base accuracy, saved into `out`."""
    import torch

    t0 = time.time()
    tokenizer = build_tokenizer(world)
    t_tok = time.time() - t0
    model = build_model(tokenizer, size=size, arch=ARCH, context_length=world.context_length, seed=world.seed)
    report = pretrain(model, tokenizer, world, LEARNING_RATES[size], description=f"pretraining synth:{size}")
    t_train = time.time() - t0 - t_tok
    stats = {
        "size": size,
        "arch": ARCH,
        "parameters": num_parameters(model),
        "vocab_size": len(tokenizer),
        "context_length": world.context_length,
        "pretraining": report,
        "torch_threads": torch.get_num_threads(),
        "seconds": {"tokenizer": round(t_tok, 1), "pretraining": round(t_train, 1)},
    }
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if measure:
        t1 = time.time()
        stats["base_accuracy"] = {
            tier: greedy_accuracy(model, tokenizer, synth_problems("dev", tier, EVAL_SIZE, world.seed))
            for tier in EVAL_TIERS
        }
        stats["seconds"]["base_accuracy"] = round(time.time() - t1, 1)
    stats["seconds"]["total"] = round(time.time() - t0, 1)
    return stats


def student_stage(world: WorldConfig, store: RunStore, size: str):
    return store.stage("world", world_inputs(world, size), label=f"student-{size}")


def resolve_student(model: str, world: WorldConfig, store: RunStore, force: bool = False) -> str:
    """A local model folder for `model`: `synth:<size>` is built on demand, anything else is returned as is."""
    if not model.startswith("synth:"):
        return model
    size = model.split(":", 1)[1]
    if size not in STUDENT_SIZES:
        raise HarnessError(f"unknown built-in student size {size!r} in {model!r} (known: {', '.join(STUDENT_SIZES)})")
    stage = student_stage(world, store, size)
    if stage.done and not force:
        return str(stage.path / MODEL_DIR)
    started = now()
    work = stage.begin(force=force)
    log(f"building {model} (world seed {world.seed}) in {stage.path}")
    stats = build_student(world, size, work / MODEL_DIR)
    write_json(work / "stats.json", stats)
    stage.commit(build_manifest(world, seeds={"world": world.seed}, started=started, student=model, stats=stats))
    return str(stage.path / MODEL_DIR)


def check_size(size: str) -> None:
    if size not in SIZES or size not in STUDENT_SIZES:
        raise HarnessError(f"unknown built-in student size {size!r} (known: {', '.join(STUDENT_SIZES)})")


__all__ = ["resolve_student", "build_student", "build_tokenizer", "tokenizer_corpus", "render", "student_stage"]
