"""The smoke's stand-in: a random model of the student's architecture, its tokenizer and the toy data.

The architecture is the student's own, found offline: a Hub id the harness knows (the paper
presets' students and their relatives), else the `config.json` of a local folder or of the
Hub cache. The model is tiny but shaped for the GPU path: heads of 64 dimensions (every
vLLM attention backend takes them) and 4 of them, so `engine.tensor_parallel_size` 1, 2 or 4
divides them as it does the paper students'. Its context is small and fits every toy request.

Everything is one store stage (`smoke/standin-<arch>-<key>`), so a second smoke reuses it
and two smokes sharing a store build it once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.jsonl import write_jsonl
from harness.manifest import build_manifest, now
from harness.smoke.toy import benchmark_rows, s1k_rows, tokenizer_corpus
from harness.store import RunStore
from harness.synth import ARCHS

# Hub ids whose architecture is known without downloading their config (model_type).
KNOWN_STUDENTS = (
    (re.compile(r"Qwen/Qwen3-[0-9.]+B(-Base|-Instruct-2507|-Thinking-2507)?", re.I), "qwen3"),
    (re.compile(r"Qwen/Qwen2(\.5)?(-Math)?-[0-9.]+B(-Instruct)?", re.I), "qwen2"),
    (re.compile(r"Qwen/QwQ-32B(-Preview)?", re.I), "qwen2"),
    (re.compile(r"deepseek-ai/DeepSeek-R1-Distill-Qwen-[0-9.]+B", re.I), "qwen2"),
)
SHAPE = dict(hidden_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, head_dim=64,
             intermediate_size=512)
CONTEXT = 2048  # the longest toy request (a self-judge prompt with a whole chain of thought + 256 tokens) is ~700
VOCAB = 512
TEACHER_ROWS = 4
COT_SENTENCES = 8
BENCHMARK_PROBLEMS = 2
VERSION = 1  # bump when the toy data or the model recipe changes: it is in the stage key
MODEL, TEACHER, BENCHMARKS = "model", "s1k-toy.jsonl", "benchmarks"


@dataclass(frozen=True)
class StandIn:
    arch: str
    model: Path  # the stand-in student folder
    teacher: Path  # toy teacher rows in the s1K-1.1 schema
    data_dir: Path  # <benchmark>.jsonl for each of the run's benchmarks
    context: int


def student_arch(model: str) -> str:
    """The student's architecture (model_type), offline: a known Hub id, else a local or cached config.json."""
    for pattern, arch in KNOWN_STUDENTS:
        if pattern.fullmatch(model):
            return _supported(model, arch)
    config = _local_config(model)
    if config is None:
        raise HarnessError(f"harness smoke cannot tell the architecture of student {model!r} offline (not a known "
                           f"Hub id, not in the Hugging Face cache); pass --arch {' or --arch '.join(ARCHS)}")
    try:
        arch = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        raise HarnessError(f"cannot read the student's config {config}: {exc}") from None
    return _supported(model, arch)


def _supported(model: str, arch: object) -> str:
    if arch not in ARCHS:
        raise HarnessError(f"student {model!r} is a {arch!r} model; harness smoke has stand-ins for "
                           f"{', '.join(ARCHS)} only (pass --arch to use one anyway)")
    return str(arch)


def _local_config(model: str) -> Path | None:
    from harness.fingerprint import looks_like_path

    if looks_like_path(model):
        config = Path(model).expanduser() / "config.json"
        if not config.is_file():
            raise HarnessError(f"student folder {model} has no config.json")
        return config
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(model, "config.json")
    except ValueError:  # not a valid repo id
        return None
    return Path(cached) if isinstance(cached, str) else None


def build_stand_in(store: RunStore, arch: str, benchmarks: list[str], force: bool = False) -> StandIn:
    """Build (or reuse) the stand-in for `arch` with toy files for `benchmarks`."""
    from harness.stages import announce

    inputs = {"version": VERSION, "arch": arch, "shape": SHAPE, "context": CONTEXT, "vocab": VOCAB,
              "teacher_rows": TEACHER_ROWS, "cot_sentences": COT_SENTENCES,
              "benchmarks": sorted(benchmarks), "benchmark_problems": BENCHMARK_PROBLEMS}
    stage = store.stage("smoke", inputs, label=f"standin-{arch}")
    with stage.lock():
        if announce(stage, force):
            _build(stage, arch, benchmarks, force)
    return StandIn(arch, stage.path / MODEL, stage.path / TEACHER, stage.path / BENCHMARKS, CONTEXT)


def _build(stage, arch: str, benchmarks: list[str], force: bool) -> None:
    from harness.synth.models import save_random_model

    started = now()
    work = stage.begin(force)
    teacher = s1k_rows(TEACHER_ROWS, COT_SENTENCES)
    problems = {name: benchmark_rows(name, BENCHMARK_PROBLEMS) for name in benchmarks}
    write_jsonl(work / TEACHER, teacher)
    (work / BENCHMARKS).mkdir(exist_ok=True)
    for name, rows in problems.items():
        write_jsonl(work / BENCHMARKS / f"{name}.jsonl", rows)
    save_random_model(work / MODEL, tokenizer_corpus(teacher, list(problems.values())), arch=arch, size=SHAPE,
                      context_length=CONTEXT, vocab_size=VOCAB, seed=0)
    stage.commit(build_manifest(stage.inputs, started=started))
