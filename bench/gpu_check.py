"""The GPU path, run for real: engine, training and the paper preset's pipeline (issue #16).

One prepared command for a lent CUDA machine, which can download nothing: the models are
randomly initialised models of real architectures (Qwen2.5-0.5B's: 24 layers, hidden 896,
14 heads, 2 KV heads, intermediate 4864; Qwen3-0.6B's: 28 layers, hidden 1024, 16 heads,
8 KV heads, head_dim 128, intermediate 3072) with a byte-level BPE tokenizer trained here
on the benchmark problems and synthetic text (8,192 tokens, not Qwen's 151k). Phases, each
in its own process (clean peak-memory figures; a crash or hang costs one phase):

  gen-qwen2, gen-qwen3  the harness's transformers engine, `model.generate` and transformers'
                        continuous batching (`generate_batch`) on the same prompts: bf16 at
                        batch 64 and 2,048 new tokens (tokens/s, peak memory, share of
                        identical greedy outputs), float32 greedy (engine and model.generate
                        must agree token for token), and seeded sampling: a prompt's tokens
                        alone and inside the full batch (the engine draws each row from its
                        own stream; does generate_batch?) -> a recommendation.
  train                 `harness.trainer.train_sft` (TRL, LoRA r=16 on all linear
                        projections, gradient checkpointing, bf16) on 64 examples of 8,192
                        tokens: tokens/s of the training loop, peak memory.
  pipeline              `harness run` in this process with a config that includes
                        configs/paper-base.yaml: s1K-format teacher rows (harness.smoke.toy), the four
                        benchmarks' JSONL files (20 problems each), n=3, the transformers
                        engine. The method is palign (judge: self) on the student; a random
                        student answers nothing right, so where palign keeps no example the
                        teacher's full CoTs are trained on instead (a method registered here),
                        so that training always follows the student engine's use. A wrapper
                        around train_sft records, when training starts, which engine models
                        are still alive (weakref, after and before gc) and, on CUDA,
                        torch.cuda.memory_allocated() against before the first engine loaded.
  accelerate            `accelerate launch --num_processes 1 -m harness.trainer` on the
                        train phase's data (peak memory polled from nvidia-smi).

Every figure, the GPU, driver, torch and transformers versions go to a JSON file, rewritten
after each phase: --out PATH, else $OUT/gpu_check.json when OUT is set, else
./gpu_check.json; the phases' output goes to gpu_check.log beside it. On a machine without
CUDA (or with --toy) everything runs at toy sizes (2 layers, hidden 64, 8 prompts x 32
tokens, 8 examples x 256 tokens, 2 problems per benchmark) in about a minute on 2 cores;
the slow tests in tests/test_gpu_check.py run that. docs/GPU.md has the device command.

    python bench/gpu_check.py [--toy] [--out PATH] [--phases gen-qwen2,train,...] [--budget-s 540]
        [--size gen_batch=32 ...] [--repeats 3] [--work DIR (kept)] [--hold-engines]

--budget-s bounds the whole run: a phase that would start after it is skipped, one still
running is killed, and whatever its finished steps wrote stays in the report. --hold-engines
is the memory check's self-test: every engine and its model are kept alive, so it must fail.

A closing `N passed, M failed` line counts the checks (fp32 agreement, engine seeded
sampling, each phase ran, the student engine released before training); the exit code is 1
when one failed. Figures about generate_batch are findings, not checks.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import weakref
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCHEMA = "gpu_check/1"
PHASES = ("gen-qwen2", "train", "pipeline", "accelerate", "gen-qwen3")
PROBE_METHOD = "gpu_check_palign"
MIB = 1 << 20

# Real architectures (the published configs' shapes); the vocabulary is the local tokenizer's.
ARCHS_FULL = {
    "qwen2": dict(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                  intermediate_size=4864, rope_theta=1_000_000.0, rms_norm_eps=1e-6),  # Qwen2.5-0.5B
    "qwen3": dict(hidden_size=1024, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8,
                  head_dim=128, intermediate_size=3072, rope_theta=1_000_000.0, rms_norm_eps=1e-6),  # Qwen3-0.6B
}
ARCHS_TOY = {
    "qwen2": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  intermediate_size=128),
    "qwen3": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  head_dim=16, intermediate_size=128),
}


@dataclass
class Sizes:
    vocab: int  # tokenizer vocabulary asked for (BPE stops earlier on a small corpus)
    context: int  # max_position_embeddings of the built models
    gen_batch: int
    gen_new_tokens: int  # bf16 greedy runs
    fp32_new_tokens: int  # float32 greedy runs (the token-for-token check)
    sample_new_tokens: int  # seeded-sampling runs
    sample_subset: int  # prompts run alone, then compared with the same rows of the full batch
    train_examples: int
    train_tokens: int  # tokens per training example (max_length)
    grad_accum: int
    teacher_rows: int  # s1K-format rows for the pipeline
    cot_sentences: int
    method_new_tokens: int
    eval_new_tokens: int
    eval_limit: int
    eval_n: int
    pipeline_max_length: int
    engine_batch: int
    grader_workers: int


FULL = Sizes(vocab=8192, context=32768, gen_batch=64, gen_new_tokens=2048, fp32_new_tokens=256,
             sample_new_tokens=128, sample_subset=8, train_examples=64, train_tokens=8192, grad_accum=8,
             teacher_rows=32, cot_sentences=60, method_new_tokens=256, eval_new_tokens=512, eval_limit=20,
             eval_n=3, pipeline_max_length=4096, engine_batch=64, grader_workers=8)
TOY = Sizes(vocab=512, context=1024, gen_batch=8, gen_new_tokens=32, fp32_new_tokens=32, sample_new_tokens=16,
            sample_subset=4, train_examples=8, train_tokens=256, grad_accum=2, teacher_rows=4, cot_sentences=6,
            method_new_tokens=16, eval_new_tokens=16, eval_limit=2, eval_n=3, pipeline_max_length=512,
            engine_batch=8, grader_workers=2)
SAMPLING = dict(temperature=0.6, top_p=0.9)  # the paper preset's, without the repetition penalty
BENCHMARKS = ("aime24", "aime25", "amc12", "math500")


# --------------------------------------------------------------------------- small helpers

def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def cut_at_stop(tokens: list[int], stops: set[int]) -> list[int]:
    """The generated tokens up to and including the first stop token."""
    for i, t in enumerate(tokens):
        if t in stops:
            return list(tokens[: i + 1])
    return list(tokens)


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def compare(a: list[list[int]], b: list[list[int]]) -> dict[str, Any]:
    """Token-by-token agreement of two lists of generated rows (same prompts, same order)."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} rows against {len(b)}")
    same = [x == y for x, y in zip(a, b)]
    prefixes = [common_prefix(x, y) for x, y in zip(a, b)]
    diverged = [p for p, s in zip(prefixes, same) if not s]
    return {
        "rows": len(a),
        "identical_rows": sum(same),
        "identical_share": round(sum(same) / len(a), 4) if a else None,
        "mean_common_prefix_tokens": round(statistics.fmean(prefixes), 1) if a else None,
        "first_divergence_min": min(diverged) if diverged else None,
    }


def default_out(out: str | None) -> Path:
    if out:
        return Path(out)
    if os.environ.get("OUT"):
        return Path(os.environ["OUT"]) / "gpu_check.json"
    return Path("gpu_check.json")


def find_data_dir(given: str | None) -> Path | None:
    """Benchmark JSONL folder: --data-dir, .gpu_data/benchmarks, ../shared/benchmarks, $HARNESS_DATA_DIR."""
    candidates = [given, REPO / ".gpu_data" / "benchmarks", REPO.parent / "shared" / "benchmarks",
                  os.environ.get("HARNESS_DATA_DIR")]
    for c in candidates:
        if c and all((Path(c) / f"{b}.jsonl").is_file() for b in BENCHMARKS):
            return Path(c).resolve()
    return None


def rss_peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


class Phase:
    """What a phase process writes: its results, rewritten after every step."""

    def __init__(self, state: dict, name: str) -> None:
        self.state, self.name = state, name
        self.path = Path(state["work"]) / f"phase-{name}.json"
        self.data: dict[str, Any] = {}
        import torch

        self.torch = torch
        self.cuda = state["device"] == "cuda"
        self.device = state["device"]

    def save(self) -> None:
        self.data["process_peak_rss_mib"] = rss_peak_mib()
        write_json(self.path, self.data)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()

    def step(self, step_name: str, fn, *args, **kwargs) -> Any:
        """Run one step; its result or its error goes under `step_name`, and the phase goes on."""
        print(f"[gpu_check] {self.name}: {step_name}", flush=True)
        started = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # a failed step is a finding; the next steps still run
            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:400]}
        self.data.setdefault("step_seconds", {})[step_name] = round(time.perf_counter() - started, 1)
        self.set(step_name, result)
        return result

    # memory
    def reset_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()
            self.torch.cuda.empty_cache()
            self.torch.cuda.reset_peak_memory_stats()

    def peak_mib(self) -> float | None:
        if not self.cuda:
            return None
        self.torch.cuda.synchronize()
        return round(self.torch.cuda.max_memory_allocated() / MIB, 1)

    def allocated_mib(self) -> float | None:
        if not self.cuda:
            return None
        self.torch.cuda.synchronize()
        return round(self.torch.cuda.memory_allocated() / MIB, 1)

    def free(self) -> None:
        gc.collect()
        if self.cuda:
            self.torch.cuda.empty_cache()


# --------------------------------------------------------------------------- setup: tokenizer, models, data

def benchmark_problems(data_dir: Path | None) -> list[str]:
    if data_dir is None:
        return [f"Compute ${3 + i} + {4 + i % 7} \\cdot {2 + i % 3}$." for i in range(64)]
    problems = []
    for b in BENCHMARKS:
        for line in (data_dir / f"{b}.jsonl").read_text().splitlines():
            if line.strip():
                problems.append(json.loads(line)["problem"])
    return problems


def machine_info(cuda: bool) -> dict[str, Any]:
    import importlib.metadata as md

    import torch

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
    }
    versions = {}
    for pkg in ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers", "safetensors",
                "huggingface_hub", "math-verify", "latex2sympy2_extended", "pebble", "numpy", "pandas", "pyarrow",
                "vllm", "flash_attn", "lm_eval"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    info["versions"] = versions
    import transformers

    import harness

    info["transformers_path"] = str(Path(transformers.__file__).parent)
    info["harness_path"] = str(Path(harness.__file__).parent)
    if cuda:
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=torch.cuda.get_device_name(0), gpu_memory_mib=round(props.total_memory / MIB),
                    gpu_capability=f"{props.major}.{props.minor}", gpu_count=torch.cuda.device_count(),
                    bf16_supported=torch.cuda.is_bf16_supported())
        try:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
            info["nvidia_smi"] = smi
            info["driver"] = smi.split(",")[1].strip() if "," in smi else None
        except (OSError, subprocess.SubprocessError) as exc:
            info["nvidia_smi"] = f"unavailable: {exc}"
    try:
        from transformers.utils import is_flash_attn_2_available

        info["flash_attn_2_available"] = bool(is_flash_attn_2_available())
    except ImportError:
        pass
    return info


def preflight() -> dict[str, str]:
    """Every module a phase imports; a missing wheel shows up here in one line."""
    import importlib

    out = {}
    for mod in ("transformers", "trl", "peft", "accelerate", "datasets", "math_verify", "latex2sympy2_extended",
                "pebble", "harness.pipeline", "harness.trainer", "palign", "baselines"):
        try:
            importlib.import_module(mod)
            out[mod] = "ok"
        except Exception as exc:  # any import failure is what this records
            out[mod] = f"{type(exc).__name__}: {exc}"[:300]
    return out


def sft_records(tokenizer, problems: list[str], n: int, tokens: int) -> list[dict[str, Any]]:
    """n prompt-completion records of at least `tokens` tokens each (training cuts them to `tokens`)."""
    from harness.config import PAPER_INSTRUCTION
    from harness.smoke.toy import filler_sentence

    per_sentence = max(1, len(tokenizer(" ".join(filler_sentence(i) for i in range(50)), add_special_tokens=False).input_ids) // 50)
    sentences = int(tokens / per_sentence * 1.15) + 8
    records = []
    for i in range(n):
        problem = problems[i % len(problems)][:600]
        # the prompt takes at most a quarter of the example, so every example has completion tokens
        while len(problem) > 20 and len(tokenizer(f"{PAPER_INSTRUCTION}\n{problem}", add_special_tokens=False).input_ids) > tokens // 4:
            problem = problem[: int(len(problem) * 0.8)]
        completion = " ".join(filler_sentence(i * 1000 + k) for k in range(sentences))
        records.append({"id": f"gpu-check-{i}", "prompt": [{"role": "user", "content": f"{PAPER_INSTRUCTION}\n{problem}"}],
                        "completion": [{"role": "assistant", "content": completion}]})
    return records


def prompts_that_fit(tokenizer, problems: list[str], n: int, room: int) -> list[str]:
    """n rendered prompts, each at most `room` tokens (long problems are cut)."""
    from harness.eval.prompts import render_prompt

    out = []
    for i in range(n):
        problem = problems[(i * 7) % len(problems)]
        while True:
            text = render_prompt(tokenizer, problem)
            if len(tokenizer(text, add_special_tokens=False).input_ids) <= room or len(problem) < 20:
                break
            problem = problem[: int(len(problem) * 0.8)]
        out.append(text)
    return out


def phase_setup(state: dict) -> None:
    ph = Phase(state, "setup")
    sizes = Sizes(**state["sizes"])
    work = Path(state["work"])
    ph.set("machine", machine_info(ph.cuda))
    ph.set("preflight", preflight())
    from harness.jsonl import write_jsonl
    from harness.smoke.toy import filler_sentence, s1k_rows
    from harness.synth.models import build_from_shape
    from harness.synth.tokenizer import train_tokenizer

    data_dir = Path(state["data_dir"]) if state["data_dir"] else None
    problems = benchmark_problems(data_dir)
    teacher = s1k_rows(sizes.teacher_rows, sizes.cot_sentences)
    corpus = problems + [r["deepseek_thinking_trajectory"] for r in teacher] + [filler_sentence(i) for i in range(500)]
    corpus += ["Please reason step by step, and put your final answer within \\boxed{}.", "ENOUGH NOT_ENOUGH",
               "<Begin_of_Prefix> <End_of_Prefix> <think> </think>"]
    started = time.perf_counter()
    tokenizer = train_tokenizer(corpus, vocab_size=sizes.vocab)
    ph.set("tokenizer", {"vocab_size": len(tokenizer), "asked": sizes.vocab, "corpus_texts": len(corpus),
                         "seconds": round(time.perf_counter() - started, 2)})

    models = {}
    import torch

    for arch, shape in state["archs"].items():
        started = time.perf_counter()
        model = build_from_shape(tokenizer, arch, shape, sizes.context, device=ph.device)
        dtype = torch.bfloat16 if ph.cuda else torch.float32
        model.to(dtype)
        path = work / "models" / arch
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
        models[arch] = {"path": str(path), "parameters": sum(p.numel() for p in model.parameters()),
                        "saved_dtype": str(dtype).replace("torch.", ""), "shape": shape, "context": sizes.context,
                        "seconds": round(time.perf_counter() - started, 1)}
        del model
        ph.free()
        ph.set("models", models)

    # generation prompts: benchmark problems in the chat template, sized to fit the context
    room = sizes.context - max(sizes.gen_new_tokens, sizes.fp32_new_tokens, sizes.sample_new_tokens)
    prompts = prompts_that_fit(tokenizer, problems, sizes.gen_batch, min(room, 1024 if ph.cuda else 256))
    write_json(work / "prompts.json", prompts)
    lengths = [len(tokenizer(p, add_special_tokens=False).input_ids) for p in prompts]
    # training data: the same file for train_sft and accelerate launch
    write_jsonl(work / "sft.jsonl", sft_records(tokenizer, problems, sizes.train_examples, sizes.train_tokens))
    write_jsonl(work / "s1k.jsonl", teacher)
    ph.set("data", {"prompts": len(prompts), "prompt_tokens_min": min(lengths), "prompt_tokens_max": max(lengths),
                    "sft_examples": sizes.train_examples, "teacher_rows": len(teacher),
                    "benchmarks_dir": state["data_dir"]})


# --------------------------------------------------------------------------- generation

def engine_tokens(engine):
    """Record the tokens behind each Completion (the engine returns text; the check needs tokens)."""
    recorded: dict[int, list[int]] = {}
    original = getattr(engine, "_completion", None)
    if original is None:
        return None

    def completion(tokens, *args, **kwargs):
        comp = original(tokens, *args, **kwargs)
        recorded[id(comp)] = list(tokens)
        return comp

    engine._completion = completion
    return recorded


def phase_gen(state: dict, arch: str) -> None:
    ph = Phase(state, f"gen-{arch}")
    torch = ph.torch
    sizes = Sizes(**state["sizes"])
    repeats = state.get("repeats", 1)
    model_dir = state["models"][arch]["path"]
    prompts = read_json(Path(state["work"]) / "prompts.json")
    ph.set("arch", arch)
    ph.set("model", state["models"][arch])
    ph.set("sizes", {"batch": len(prompts), "bf16_new_tokens": sizes.gen_new_tokens,
                     "fp32_new_tokens": sizes.fp32_new_tokens, "sample_new_tokens": sizes.sample_new_tokens,
                     "sample_subset": sizes.sample_subset, "device": ph.device,
                     "timed_runs": f"best of {repeats} after a warm-up" if repeats > 1 else "one, after a warm-up"})
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    from harness.config import EngineConfig, SamplingConfig
    from harness.engines import GenerationRequest, load_engine
    from harness.engines.hf import END_OF_TURN

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "left"
    prompt_ids = [tokenizer(p, add_special_tokens=False).input_ids for p in prompts]
    outputs: dict[str, list[list[int]]] = {}
    # The engine's stop tokens (eos and the end-of-turn tokens in the vocabulary), for all three.
    vocab = tokenizer.get_vocab()
    stops = {tokenizer.eos_token_id, *(vocab[t] for t in END_OF_TURN if t in vocab)}
    held: dict[str, Any] = {}  # the loaded model (model.generate and generate_batch share it)

    def timed(call) -> tuple[Any, float, float | None]:
        """`call()` `repeats` times: the last result, the best seconds, the peak memory."""
        best, result = float("inf"), None
        ph.reset_peak()
        for _ in range(repeats):
            started = time.perf_counter()
            result = call()
            if ph.cuda:
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - started)
        return result, best, ph.peak_mib()

    def figures(key: str, rows: list[list[int]], seconds: float, peak: float | None, new_tokens: int, **extra) -> dict:
        outputs[key] = rows
        tokens = sum(len(r) for r in rows)
        return {"rows": len(rows), "tokens": tokens, "seconds": round(seconds, 3),
                "tokens_per_s": round(tokens / seconds, 1),
                "rows_at_limit": sum(len(r) == new_tokens and r[-1] not in stops for r in rows),
                "peak_mib": peak, **extra}

    def requests(n: int) -> list:
        return [GenerationRequest(prompt=p, seed_key=f"gpu-check/{i}", sample_indices=[0]) for i, p in enumerate(prompts[:n])]

    def run_engine(dtype: str, new_tokens: int, key: str, temperature: float = 0.0, n: int | None = None) -> dict:
        n = n or len(prompts)
        held.clear()
        ph.free()
        engine = load_engine(model_dir, EngineConfig(name="transformers", dtype=dtype, batch_size=len(prompts),
                                                     device=ph.device))
        extra = {}
        if set(getattr(engine, "stop_ids", None) or stops) != stops:
            extra["engine_stop_ids_differ"] = sorted(engine.stop_ids)
        recorded = engine_tokens(engine)
        sampling = SamplingConfig(temperature=temperature, max_new_tokens=new_tokens, seed=0,
                                  **({"top_p": SAMPLING["top_p"]} if temperature > 0 else {}))
        engine.generate(requests(2), SamplingConfig(temperature=0.0, max_new_tokens=4))  # warm-up
        result, seconds, peak = timed(lambda: engine.generate(requests(n), sampling))
        if recorded is not None:
            rows = [cut_at_stop(recorded[id(c[0])], stops) for c in result]
            extra["tokens_from"] = "the engine's tokens"
        else:  # no hook: the text, encoded again (approximate)
            rows = [tokenizer(c[0].text, add_special_tokens=False).input_ids for c in result]
            extra["tokens_from"] = "the engine's text, encoded again (approximate)"
        engine = result = None  # the model goes before the next one loads
        ph.free()
        return figures(key, rows, seconds, peak, new_tokens, **extra)

    def load_model(dtype) -> Any:
        if held.get("dtype") != dtype:
            held.clear()
            ph.free()
            before = ph.allocated_mib()
            held["model"] = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(ph.device).eval()
            held["dtype"] = dtype
            held["weights_mib"] = None if before is None else round(ph.allocated_mib() - before, 1)
        return held["model"]

    def greedy(new_tokens: int) -> GenerationConfig:
        return GenerationConfig(max_new_tokens=new_tokens, do_sample=False, eos_token_id=sorted(stops),
                                pad_token_id=tokenizer.pad_token_id)

    def run_generate(dtype, new_tokens: int, key: str) -> dict:
        model = load_model(dtype)
        with torch.inference_mode():
            enc = tokenizer(prompts[:2], return_tensors="pt", padding=True, add_special_tokens=False).to(ph.device)
            model.generate(**enc, generation_config=greedy(4))  # warm-up
            enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(ph.device)
            out, seconds, peak = timed(lambda: model.generate(**enc, generation_config=greedy(new_tokens)))
        rows = [cut_at_stop(r, stops) for r in out[:, enc.input_ids.shape[1]:].tolist()]
        return figures(key, rows, seconds, peak, new_tokens, steps=out.shape[1] - enc.input_ids.shape[1],
                       weights_mib=held["weights_mib"])

    def cb_config(new_tokens: int, n: int, seed: int | None, sized: bool):
        try:
            from transformers import ContinuousBatchingConfig
        except ImportError:
            from transformers.generation.configuration_utils import ContinuousBatchingConfig
        if not sized:
            return ContinuousBatchingConfig(seed=seed)
        # A cache for this workload: without num_blocks and max_batch_tokens the library sizes its cache
        # from free memory (90% of the GPU; on CPU, from RAM, which costs seconds of page faults per call).
        page = ContinuousBatchingConfig.page_size
        blocks = sum(-(-(len(ids) + new_tokens) // page) for ids in prompt_ids[:n]) + n
        batch_tokens = max(max(len(ids) for ids in prompt_ids[:n]) + 1, min(sum(len(ids) for ids in prompt_ids[:n]), 16384))
        return ContinuousBatchingConfig(seed=seed, num_blocks=blocks, max_batch_tokens=batch_tokens)

    def run_generate_batch(dtype, new_tokens: int, key: str, sample: bool = False, n: int | None = None,
                           seed: int | None = None, sized: bool = True) -> dict:
        model = load_model(dtype)
        n = n or len(prompts)
        kwargs = dict(temperature=SAMPLING["temperature"], top_p=SAMPLING["top_p"]) if sample else {}
        config = GenerationConfig(max_new_tokens=new_tokens, do_sample=sample, eos_token_id=sorted(stops),
                                  pad_token_id=tokenizer.pad_token_id, **kwargs)
        cb = cb_config(new_tokens, n, seed, sized)
        if not sample:  # warm-up, as for the other two
            model.generate_batch(prompt_ids[:2], generation_config=greedy(4), continuous_batching_config=cb_config(4, 2, None, sized),
                                 progress_bar=False)
        out, seconds, peak = timed(lambda: model.generate_batch(prompt_ids[:n], generation_config=config,
                                                                continuous_batching_config=cb, progress_bar=False))
        results = list(out.values())
        if len(results) != n:
            raise RuntimeError(f"generate_batch returned {len(results)} results for {n} prompts")
        rows = [cut_at_stop(list(r.generated_tokens), stops) for r in results]
        return figures(key, rows, seconds, peak, new_tokens,
                       cache="sized for the workload" if sized else "library default (sized from free memory)",
                       cache_blocks=cb.num_blocks, max_batch_tokens=cb.max_batch_tokens,
                       note="each call starts its own manager (cache, warm-up): that is in the time")

    def agreement(pairs) -> dict:
        return {f"{a}__vs__{b}": compare(outputs[a], outputs[b]) for a, b in pairs if a in outputs and b in outputs}

    pairs = [("{0}_engine", "{0}_generate"), ("{0}_generate", "{0}_generate_batch"), ("{0}_engine", "{0}_generate_batch")]
    for dtype, label, new_tokens in (("bfloat16", "bf16", sizes.gen_new_tokens), ("float32", "fp32", sizes.fp32_new_tokens)):
        torch_dtype = getattr(torch, dtype)
        ph.step(f"{label}_engine", run_engine, dtype, new_tokens, f"{label}_engine")
        ph.step(f"{label}_generate", run_generate, torch_dtype, new_tokens, f"{label}_generate")
        ph.step(f"{label}_generate_batch", run_generate_batch, torch_dtype, new_tokens, f"{label}_generate_batch")
        ph.set(f"{label}_agreement", agreement([(a.format(label), b.format(label)) for a, b in pairs]))

    # seeded sampling in float32: a prompt's sample alone vs inside the full batch
    k = min(sizes.sample_subset, len(prompts))
    temperature = SAMPLING["temperature"]

    def engine_sampling() -> dict:
        full = run_engine("float32", sizes.sample_new_tokens, "sample_engine_full", temperature)
        part = run_engine("float32", sizes.sample_new_tokens, "sample_engine_subset", temperature, n=k)
        return {"full": full, "subset": part,
                "subset_vs_full": compare(outputs["sample_engine_subset"], outputs["sample_engine_full"][:k])}

    def cb_sampling() -> dict:
        import inspect

        run = lambda key, n=None: run_generate_batch(torch.float32, sizes.sample_new_tokens, key, sample=True, n=n,  # noqa: E731
                                                     seed=0)
        full, again, part = run("sample_cb_full"), run("sample_cb_again"), run("sample_cb_subset", k)
        try:
            from transformers.generation.continuous_batching.continuous_api import ContinuousBatchingManager

            add_request = list(inspect.signature(ContinuousBatchingManager.add_request).parameters)[1:]
        except Exception as exc:  # introspection only
            add_request = [f"unavailable: {exc}"]
        return {"full": full, "same_seed_again": again, "subset": part,
                "same_seed_same_batch": compare(outputs["sample_cb_again"], outputs["sample_cb_full"]),
                "subset_vs_full": compare(outputs["sample_cb_subset"], outputs["sample_cb_full"][:k]),
                "seed_api": {"ContinuousBatchingConfig.seed": "one seed for the whole manager",
                             "add_request_parameters": add_request}}

    ph.step("sampling_engine", engine_sampling)
    ph.step("sampling_generate_batch", cb_sampling)
    # Last, in case its cache outlives the call: what the library does by default (its cache takes
    # most of the free GPU memory).
    if ph.cuda:
        ph.step("bf16_generate_batch_default_cache", run_generate_batch, torch.bfloat16, sizes.fp32_new_tokens,
                "bf16_generate_batch_default_cache", sized=False)
    else:
        ph.set("bf16_generate_batch_default_cache", {"skipped": "on CPU the default cache is sized from free RAM "
                                                     "(gigabytes for a toy model): not run here"})
    held.clear()
    ph.free()


# --------------------------------------------------------------------------- training

def train_config(sizes: Sizes, cuda: bool, max_length: int):
    from harness.config import TrainConfig

    return TrainConfig(learning_rate=5e-5, num_train_epochs=1, per_device_train_batch_size=1,
                       gradient_accumulation_steps=sizes.grad_accum, warmup_ratio=0.1, lr_scheduler_type="cosine",
                       max_length=max_length, use_lora=True, lora_r=16, lora_alpha=16, lora_dropout=0.05,
                       lora_target_modules=["all-linear"], bf16=cuda, gradient_checkpointing=True,
                       save_steps=100_000, logging_steps=1)


class TrainLoopTimer:
    """Times `Trainer.train` (the loop alone, not model loading or the LoRA merge) and its peak memory."""

    def __init__(self, ph: Phase) -> None:
        import transformers
        import trl

        self.ph, self.runs = ph, []
        owner = trl.SFTTrainer if "train" in vars(trl.SFTTrainer) else transformers.Trainer
        original = owner.train
        timer = self

        def train(trainer, *args, **kwargs):
            ph.reset_peak()
            started = time.perf_counter()
            result = original(trainer, *args, **kwargs)
            if ph.cuda:
                ph.torch.cuda.synchronize()
            timer.runs.append({"seconds": time.perf_counter() - started, "peak_mib": ph.peak_mib(),
                               "steps": trainer.state.global_step})
            return result

        owner.train = train


def phase_train(state: dict) -> None:
    ph = Phase(state, "train")
    sizes = Sizes(**state["sizes"])
    from harness.trainer import train_sft

    cfg = train_config(sizes, ph.cuda, sizes.train_tokens)
    ph.set("config", asdict(cfg))
    timer = TrainLoopTimer(ph)

    def run() -> dict:
        started = time.perf_counter()
        report = train_sft(state["models"]["qwen2"]["path"], Path(state["work"]) / "sft.jsonl",
                           Path(state["work"]) / "train-out", cfg, seed=0)
        total = time.perf_counter() - started
        loop = timer.runs[-1] if timer.runs else {}
        tokens = report["train_tokens"] * cfg.num_train_epochs
        return {"examples": report["examples"], "tokens_per_example": sizes.train_tokens, "train_tokens": tokens,
                "truncated": report.get("truncated"), "steps": report.get("steps"),
                "loop_seconds": round(loop.get("seconds", float("nan")), 2),
                "tokens_per_s": round(tokens / loop["seconds"], 1) if loop else None,
                "peak_mib": loop.get("peak_mib"), "train_sft_seconds": round(total, 2),
                "initial_loss": report.get("initial_loss"), "final_loss": report.get("final_loss"),
                "model": state["models"]["qwen2"]["shape"]}

    ph.step("train_sft", run)


# --------------------------------------------------------------------------- pipeline and the memory check

class MemoryProbe:
    """Which engine models are alive, and how much CUDA memory is held, when training starts."""

    def __init__(self, ph: Phase, hold: bool = False) -> None:
        self.ph = ph
        self.hold = hold  # self-test: keep every engine alive, as the pipeline did before it released them
        self.held: list[Any] = []
        self.restore: list[tuple[Any, str, Any]] = []
        self.engines: list[tuple[str, weakref.ref, weakref.ref | None]] = []
        self.before_first_load: float | None = None
        self.after_loads: list[float | None] = []
        self.at_train_start: list[dict[str, Any]] = []

    def install(self) -> None:
        import harness.engines.hf as hf
        import harness.trainer as trainer

        probe = self
        original_init = hf.HFEngine.__init__

        def init(engine, model, cfg, *args, **kwargs):
            if not probe.engines:
                gc.collect()
                probe.before_first_load = probe.ph.allocated_mib()
            original_init(engine, model, cfg, *args, **kwargs)
            model_obj = getattr(engine, "model", None)
            probe.engines.append((str(model), weakref.ref(engine),
                                  weakref.ref(model_obj) if model_obj is not None else None))
            probe.after_loads.append(probe.ph.allocated_mib())
            if probe.hold:  # the engine and its model, as a cache that never lets go would
                probe.held += [engine, model_obj]

        original_train = trainer.train_sft

        def train_sft(*args, **kwargs):
            probe.record()
            return original_train(*args, **kwargs)

        import harness.pipeline as pipeline

        self._patch(hf.HFEngine, "__init__", init)
        self._patch(trainer, "train_sft", train_sft)
        if hasattr(pipeline, "train_sft"):  # in case the pipeline imports it at module level one day
            self._patch(pipeline, "train_sft", train_sft)

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        self.restore.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def uninstall(self) -> None:
        while self.restore:
            owner, name, value = self.restore.pop()
            setattr(owner, name, value)
        self.held.clear()

    def _alive(self) -> tuple[list[str], list[str]]:
        engines = [m for m, e, _ in self.engines if e() is not None]
        models = [m for m, _, w in self.engines if w is not None and w() is not None]
        return engines, models

    def record(self) -> None:
        engines, models = self._alive()
        allocated = self.ph.allocated_mib()
        gc.collect()
        engines_gc, models_gc = self._alive()
        entry = {"engines_loaded_so_far": len(self.engines), "live_engines": engines, "live_engine_models": models,
                 "live_engines_after_gc": engines_gc, "live_engine_models_after_gc": models_gc,
                 "cuda_allocated_mib": allocated, "cuda_allocated_after_gc_mib": self.ph.allocated_mib(),
                 "cuda_reserved_mib": round(self.ph.torch.cuda.memory_reserved() / MIB, 1) if self.ph.cuda else None}
        self.at_train_start.append(entry)
        print(f"[gpu_check] training starts: {json.dumps(entry)}", flush=True)

    def verdict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"engines_loaded": [m for m, _, _ in self.engines],
                               "cuda_allocated_before_first_engine_mib": self.before_first_load,
                               "cuda_allocated_after_each_engine_load_mib": self.after_loads,
                               "at_train_start": self.at_train_start}
        if not self.at_train_start:
            out.update(passed=None, detail="training never started, so the release was not exercised")
            return out
        first = self.at_train_start[0]
        if first["engines_loaded_so_far"] == 0:
            out.update(passed=None, detail="no engine was loaded before training, so the release was not exercised")
            return out
        # The engine's model is what holds the memory; an engine object whose model was closed holds little.
        held = bool(first["live_engine_models"])
        detail = []
        if held:
            detail.append(f"{len(first['live_engine_models'])} engine model(s) still alive when training starts "
                          f"({', '.join(first['live_engine_models'])})")
            if not first["live_engine_models_after_gc"]:
                detail.append("(freed only by a gc.collect())")
        elif first["live_engines"]:
            detail.append(f"engine object(s) alive but their models freed ({', '.join(first['live_engines'])})")
        if self.ph.cuda and self.before_first_load is not None:
            weights = (self.after_loads[0] or 0) - self.before_first_load
            tolerance = max(64.0, 0.02 * weights)
            extra = first["cuda_allocated_mib"] - self.before_first_load
            out.update(cuda_held_mib=round(extra, 1), cuda_tolerance_mib=round(tolerance, 1))
            if extra > tolerance:
                held = True
                detail.append(f"{extra:.0f} MiB of CUDA memory more than before the student engine loaded "
                              f"(the engine took {weights:.0f} MiB)")
        if not held:
            detail.insert(0, "no engine model alive when training starts" + (
                ", CUDA memory back to its level before the engine loaded" if self.ph.cuda else ""))
        out.update(passed=not held, detail="; ".join(detail))
        return out


def register_probe_method() -> None:
    """palign on the student; where it keeps nothing (a random student), the teacher's full CoTs (as `harness smoke`)."""
    from harness.methods import get_method
    from harness.smoke.plan import register_fallback

    register_fallback(get_method("palign"), PROBE_METHOD)


def pipeline_config(state: dict, sizes: Sizes, cuda: bool) -> dict[str, Any]:
    work = Path(state["work"])
    return {
        "include": "paper-base",  # configs/paper-base.yaml: s1k teacher, palign judge self, LoRA, eval, n=3
        "student": {"model": state["models"]["qwen2"]["path"]},
        "teacher": {"dataset": str(work / "s1k.jsonl")},
        "method": {"sampling": {"max_new_tokens": sizes.method_new_tokens}},
        "train": {"num_train_epochs": 1, "gradient_accumulation_steps": 4, "max_length": sizes.pipeline_max_length,
                  "save_steps": 1000, "bf16": cuda},
        "eval": {"data_dir": state["data_dir"], "limit": sizes.eval_limit, "n": sizes.eval_n,
                 "sampling": {"max_new_tokens": sizes.eval_new_tokens}, "grader_workers": sizes.grader_workers},
        "engine": {"name": "transformers", "dtype": "bfloat16" if cuda else "float32",
                   "batch_size": sizes.engine_batch, "max_model_len": None},
    }


def phase_pipeline(state: dict) -> None:
    ph = Phase(state, "pipeline")
    sizes = Sizes(**state["sizes"])
    if not state["data_dir"]:
        ph.set("skipped", "no benchmark JSONL files (pass --data-dir, or copy them to .gpu_data/benchmarks)")
        return
    import yaml

    work = Path(state["work"])
    cfg = pipeline_config(state, sizes, ph.cuda)
    cfg_path = work / "paper-shaped.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    ph.set("config", cfg)
    probe = MemoryProbe(ph, hold=bool(state.get("hold_engines")))
    ph.set("hold_engines", probe.hold)
    probe.install()
    register_probe_method()
    from harness.cli import main as harness_main

    argv = ["run", "--config", str(cfg_path), "--method", PROBE_METHOD, "--store", str(work / "store"),
            "--json", str(work / "pipeline-result.json")]
    ph.set("command", "harness " + " ".join(argv))

    def run() -> dict:
        started = time.perf_counter()
        code = harness_main(argv)
        out = {"exit_code": code, "seconds": round(time.perf_counter() - started, 1)}
        result_path = work / "pipeline-result.json"
        if result_path.is_file():
            record = read_json(result_path)
            stats = record.get("method_stats") or {}
            out["method_stats"] = {k: v for k, v in stats.items() if not isinstance(v, list)}
            training = record.get("training") or {}
            out["training"] = {k: training.get(k) for k in ("examples", "train_tokens", "steps", "runtime_s",
                                                            "initial_loss", "final_loss", "truncated")}
            out["benchmarks"] = {b: {"num_problems": r.get("num_problems"), "pass@1": r.get("metrics", {}).get("pass@1"),
                                     "mean_tokens": r.get("metrics", {}).get("mean_tokens")}
                                 for b, r in (record.get("benchmarks") or {}).items()}
        return out

    ph.step("run", run)
    ph.set("memory_release", probe.verdict())


# --------------------------------------------------------------------------- accelerate launch

class MemoryPoller:
    """Peak device memory of a child process tree: nvidia-smi on a GPU, RSS on CPU."""

    def __init__(self, cuda: bool, pid: int) -> None:
        self.cuda, self.pid, self.peak = cuda, pid, 0.0
        self.source = "nvidia-smi memory.used (whole GPU, MiB)" if cuda else "RSS of the process tree (MiB)"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> float:
        if self.cuda:
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10).stdout
            return float(out.split()[0]) if out.strip() else 0.0
        import psutil

        proc = psutil.Process(self.pid)
        total = 0
        for p in [proc, *proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total / MIB

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._sample())
            except Exception:  # a process that just ended, a busy nvidia-smi: the next sample counts
                pass
            self._stop.wait(0.5)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(timeout=15)
        return round(self.peak, 1)


def phase_accelerate(state: dict) -> None:
    ph = Phase(state, "accelerate")
    sizes = Sizes(**state["sizes"])
    cfg = train_config(sizes, ph.cuda, sizes.train_tokens)
    work = Path(state["work"])
    out_dir = work / "accelerate-out"
    sets = [f"train.{k}={json.dumps(v) if isinstance(v, list) else v}" for k, v in asdict(cfg).items()]
    launch = ["--num_processes", "1", "--num_machines", "1", "--mixed_precision", "bf16" if ph.cuda else "no",
              "--dynamo_backend", "no", *([] if ph.cuda else ["--cpu"])]
    trainer_args = ["--model", state["models"]["qwen2"]["path"], "--data",
           str(work / "sft.jsonl"), "--output-dir", str(out_dir), "--seed", "0"]
    for s in sets:
        trainer_args += ["--set", s]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *launch, "-m", "harness.trainer", *trainer_args]
    ph.set("command", " ".join(["accelerate launch", *launch, "-m harness.trainer", *trainer_args]))

    def run() -> dict:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=sys.stdout, stderr=sys.stderr, env=os.environ.copy())
        poller = MemoryPoller(ph.cuda, proc.pid)
        code = proc.wait()
        peak = poller.stop()
        seconds = time.perf_counter() - started
        out = {"exit_code": code, "seconds": round(seconds, 1), "peak_memory_mib": peak, "peak_memory_source": poller.source}
        report_path = out_dir / "train_report.json"
        if report_path.is_file():
            report = read_json(report_path)
            tokens = report["train_tokens"] * cfg.num_train_epochs
            out.update(examples=report.get("examples"), train_tokens=tokens, steps=report.get("steps"),
                       trainer_runtime_s=report.get("runtime_s"),
                       tokens_per_s_incl_load_and_merge=round(tokens / report["runtime_s"], 1) if report.get("runtime_s") else None,
                       final_loss=report.get("final_loss"), model_written=(out_dir / "config.json").is_file())
        if code != 0:
            raise RuntimeError(f"accelerate launch exited {code}: {json.dumps(out)}")
        return out

    ph.step("launch", run)


# --------------------------------------------------------------------------- the orchestrator

def checks_and_findings(report: dict) -> tuple[list[dict], dict]:
    phases = report["phases"]
    checks: list[dict] = []
    findings: dict[str, Any] = {}

    def check(name: str, passed: bool | None, detail: str) -> None:
        checks.append({"check": name, "passed": bool(passed), "detail": detail})

    def ok(phase: str) -> bool:
        return phases.get(phase, {}).get("status") == "ok"

    def phase_detail(phase: str) -> str:
        p = phases.get(phase, {})
        return p.get("reason") or f"status {p.get('status')}, exit {p.get('exit_code')}"

    for phase in report["selected_phases"]:
        p = phases.get(phase, {})
        if phase.startswith("gen-"):
            arch = phase[4:]
            fp32 = (p.get("fp32_agreement") or {}).get("fp32_engine__vs__fp32_generate")
            check(f"{arch}: float32 greedy, harness engine = model.generate token for token",
                  bool(fp32) and fp32["identical_share"] == 1.0,
                  json.dumps(fp32) if fp32 else f"not measured ({phase_detail(phase)})")
            eng = (p.get("sampling_engine") or {}).get("subset_vs_full")
            check(f"{arch}: seeded sampling, the engine's rows alone = the same rows in the full batch",
                  bool(eng) and eng["identical_share"] == 1.0, json.dumps(eng) if eng else "not measured")
            findings[arch] = generation_findings(p)
        elif phase == "train":
            run = p.get("train_sft") or {}
            check("harness trainer: LoRA r=16 all-linear, gradient checkpointing" + (", bf16" if report["cuda"] else ""),
                  ok(phase) and "error" not in run and run.get("tokens_per_s") is not None,
                  (f"{run.get('tokens_per_s')} tokens/s, " + (f"peak {run.get('peak_mib')} MiB" if report["cuda"] else
                   f"process peak RSS {p.get('process_peak_rss_mib')} MiB")) if "error" not in run else run["error"])
        elif phase == "pipeline":
            run = p.get("run") or {}
            skipped = p.get("skipped")
            check("harness run end to end (paper-base shape, s1K-format teacher, 4 benchmarks, n=3)",
                  ok(phase) and run.get("exit_code") == 0,
                  skipped or run.get("error") or f"exit {run.get('exit_code')} in {run.get('seconds')} s")
            mem = p.get("memory_release") or {}
            check("student engine released before training starts", mem.get("passed") is True,
                  mem.get("detail") or skipped or "not measured")
        elif phase == "accelerate":
            run = p.get("launch") or {}
            check("accelerate launch --num_processes 1 -m harness.trainer", ok(phase) and "error" not in run,
                  run.get("error") or f"exit {run.get('exit_code')}, {run.get('seconds')} s, peak {run.get('peak_memory_mib')} MiB")
    return checks, findings


def generation_findings(p: dict) -> dict[str, Any]:
    """Speed, agreement and seeded sampling of generate_batch against the harness engine, and the verdict."""
    out: dict[str, Any] = {}
    for dtype in ("bf16", "fp32"):
        eng, gen, cb = (p.get(f"{dtype}_{k}") or {} for k in ("engine", "generate", "generate_batch"))
        out[f"{dtype}_tokens_per_s"] = {"harness_engine": eng.get("tokens_per_s"), "model_generate": gen.get("tokens_per_s"),
                                        "generate_batch": cb.get("tokens_per_s") if "error" not in cb else cb["error"]}
        out[f"{dtype}_peak_mib"] = {"harness_engine": eng.get("peak_mib"), "model_generate": gen.get("peak_mib"),
                                    "generate_batch": cb.get("peak_mib")}
        agree = p.get(f"{dtype}_agreement") or {}
        out[f"{dtype}_identical_share"] = {k: v.get("identical_share") for k, v in agree.items()}
    cb_sampling = p.get("sampling_generate_batch") or {}
    eng_sampling = p.get("sampling_engine") or {}
    out["seeded_sampling"] = {
        "harness_engine_subset_vs_full": (eng_sampling.get("subset_vs_full") or {}).get("identical_share"),
        "generate_batch_same_seed_twice": (cb_sampling.get("same_seed_same_batch") or {}).get("identical_share"),
        "generate_batch_subset_vs_full": (cb_sampling.get("subset_vs_full") or {}).get("identical_share"),
        "generate_batch_error": cb_sampling.get("error"),
    }
    eng_speed = (p.get("bf16_engine") or {}).get("tokens_per_s")
    cb_speed = (p.get("bf16_generate_batch") or {}).get("tokens_per_s")
    ratio = round(cb_speed / eng_speed, 2) if eng_speed and cb_speed else None
    out["generate_batch_over_engine_speed_bf16"] = ratio
    default = p.get("bf16_generate_batch_default_cache") or {}
    out["generate_batch_default_cache"] = {k: default.get(k) for k in ("tokens_per_s", "peak_mib", "skipped", "error")
                                           if default.get(k) is not None}
    per_row = out["seeded_sampling"]["generate_batch_subset_vs_full"]
    reasons = []
    if ratio is None:
        reasons.append("generate_batch's speed was not measured")
    elif ratio < 0.95:
        reasons.append(f"generate_batch runs at {ratio}x the engine's tokens/s")
    if per_row != 1.0:
        reasons.append("generate_batch's samples change with the batch (one RNG stream for the batch, "
                       f"subset rows identical: {per_row})")
    out["recommendation"] = ("use transformers' generate_batch and delete harness/engines/decoding.py"
                             if not reasons else "keep the harness's own decoding loop: " + "; ".join(reasons))
    return out


def run_phase(name: str, state_path: Path, log_path: Path, deadline: float, env: dict) -> dict:
    remaining = deadline - time.monotonic()
    if remaining < 15:
        return {"status": "skipped", "reason": "time budget spent (--budget-s)"}
    started = time.perf_counter()
    with log_path.open("a") as log:
        log.write(f"\n===== {now()} phase {name}\n")
        log.flush()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--_phase", name, "--_state",
                                 str(state_path)], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            code = proc.wait(timeout=remaining)
            status = "ok" if code == 0 else "failed"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code, status = None, "timeout"
    try:  # the grader pool or accelerate's child must not outlive its phase
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    state = json.loads(state_path.read_text())
    result_path = Path(state["work"]) / f"phase-{name}.json"
    result = read_json(result_path) if result_path.is_file() else {}
    result.update(status=status, exit_code=code, seconds=round(time.perf_counter() - started, 1))
    if status == "timeout":
        result["reason"] = f"killed at the time budget after {result['seconds']} s"
    return result


def print_summary(report: dict) -> None:
    print(f"\n[gpu_check] {'toy (CPU)' if report['toy'] else 'full'} run, {report.get('machine', {}).get('gpu') or 'no GPU'}")
    for name, p in report["phases"].items():
        print(f"  phase {name:11s} {p.get('status'):8s} {p.get('seconds', 0):7.1f} s")
    for arch, f in report.get("findings", {}).items():
        print(f"  {arch} bf16 tokens/s: {f['bf16_tokens_per_s']}")
        print(f"  {arch} fp32 tokens/s: {f['fp32_tokens_per_s']}")
        print(f"  {arch} bf16 identical: {f['bf16_identical_share']}")
        print(f"  {arch} seeded sampling: {f['seeded_sampling']}")
        print(f"  {arch}: {f['recommendation']}")
    for c in report.get("checks", []):
        print(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['check']}: {c['detail'][:300]}")
    passed = sum(c["passed"] for c in report.get("checks", []))
    print(f"{passed} passed, {len(report.get('checks', [])) - passed} failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toy", action="store_true", help="toy sizes (the default without CUDA)")
    parser.add_argument("--full", action="store_true", help="full sizes even without CUDA (slow)")
    parser.add_argument("--out", "--json", dest="out",
                        help="JSON report path (default $OUT/gpu_check.json, else ./gpu_check.json)")
    parser.add_argument("--work", help="work folder for models and data (default: a temporary folder, removed)")
    parser.add_argument("--data-dir", help="folder with aime24/aime25/amc12/math500 .jsonl "
                        "(default .gpu_data/benchmarks, then ../shared/benchmarks, then $HARNESS_DATA_DIR)")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, in order (default {','.join(PHASES)})")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="wall-clock seconds for everything; a phase that would start later is skipped and one "
                        "still running then is killed (default 540 full, 900 toy)")
    parser.add_argument("--size", action="append", default=[], metavar="FIELD=N",
                        help="override one size, e.g. --size gen_batch=64 --size gen_new_tokens=256 (fields: "
                        + ", ".join(Sizes.__dataclass_fields__) + ")")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed generation runs per figure, the best kept (default 1)")
    parser.add_argument("--hold-engines", action="store_true",
                        help="self-test of the memory check: keep every engine alive in the pipeline phase "
                        "(as the pipeline did before it released them); the check must then fail")
    parser.add_argument("--_phase", help=argparse.SUPPRESS)
    parser.add_argument("--_state", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._phase:
        state = read_json(Path(args._state))
        name = args._phase
        if name == "setup":
            phase_setup(state)
        elif name.startswith("gen-"):
            phase_gen(state, name[4:])
        else:
            {"train": phase_train, "pipeline": phase_pipeline, "accelerate": phase_accelerate}[name](state)
        return 0

    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    import torch

    cuda = torch.cuda.is_available()
    toy = args.toy or (not cuda and not args.full)
    if not cuda:  # tiny models gain nothing from threads, and on a busy machine thread barriers cost milliseconds per op
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        parser.error(f"unknown phase {unknown[0]!r} (known: {', '.join(PHASES)})")
    out = default_out(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log_path = out.with_suffix(".log")
    log_path.write_text("")
    budget = args.budget_s if args.budget_s is not None else (900.0 if toy else 540.0)
    deadline = time.monotonic() + budget
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="gpu_check-"))
    work.mkdir(parents=True, exist_ok=True)
    data_dir = find_data_dir(args.data_dir)
    sizes = TOY if toy else FULL
    for item in args.size:
        field, _, value = item.partition("=")
        if field not in Sizes.__dataclass_fields__ or not value.strip().isdigit():
            parser.error(f"--size {item!r}: expected FIELD=N with FIELD one of {', '.join(Sizes.__dataclass_fields__)}")
        sizes = Sizes(**{**asdict(sizes), field: int(value)})
    archs = {a: (ARCHS_TOY if toy else ARCHS_FULL)[a] for a in ("qwen2", "qwen3")
             if a == "qwen2" or f"gen-{a}" in phases}
    state = {"work": str(work), "sizes": asdict(sizes), "archs": archs, "data_dir": str(data_dir) if data_dir else None,
             "device": "cuda" if cuda else "cpu", "repeats": args.repeats or 1,
             "hold_engines": args.hold_engines}
    state_path = work / "state.json"
    write_json(state_path, state)
    report: dict[str, Any] = {
        "schema": SCHEMA, "started": now(), "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "toy": toy, "cuda": cuda, "budget_s": budget, "repeats": state["repeats"], "hold_engines": args.hold_engines, "selected_phases": phases, "sizes": asdict(sizes),
        "archs": archs, "data_dir": state["data_dir"], "log": str(log_path), "phases": {},
        "note": "randomly initialised models with a locally trained tokenizer: figures are about speed, memory and "
                "agreement, never about quality",
    }
    write_json(out, report)
    print(f"[gpu_check] {'toy' if toy else 'full'} sizes, cuda={cuda}, work {work}, log {log_path}", flush=True)
    env = os.environ.copy()
    try:
        setup = run_phase("setup", state_path, log_path, deadline, env)
        report["machine"] = setup.pop("machine", {})
        report["preflight"] = setup.pop("preflight", {})
        report["setup"] = setup
        write_json(out, report)
        if setup["status"] == "ok":
            state["models"] = setup["models"]
            write_json(state_path, state)
        for name in phases:
            print(f"[gpu_check] phase {name} ...", flush=True)
            if setup["status"] != "ok":
                report["phases"][name] = {"status": "skipped", "reason": "setup failed"}
            else:
                report["phases"][name] = run_phase(name, state_path, log_path, deadline, env)
            print(f"[gpu_check] phase {name}: {report['phases'][name]['status']} "
                  f"({report['phases'][name].get('seconds', 0)} s)", flush=True)
            report["checks"], report["findings"] = checks_and_findings(report)
            write_json(out, report)
    finally:
        report["finished"] = now()
        report["checks"], report["findings"] = checks_and_findings(report)
        write_json(out, report)
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print_summary(report)
    print(f"[gpu_check] wrote {out}")
    return 0 if report.get("setup", {}).get("status") == "ok" and all(c["passed"] for c in report["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
