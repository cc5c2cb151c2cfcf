"""What the smoke changes in a preset: toy sizes and data, and the settings this machine cannot honour.

Everything else is the preset's own (method and its parameters, LoRA, scheduler, prompt,
pass@k, thinking mode), so the smoke walks the code paths the real run walks. What it changes
is said in notes the command prints: the engine when the preset's is not installed (or is
vLLM without a GPU), and bf16 when there is no CUDA GPU.

A random stand-in answers nothing right, so a method that keeps only correct student
continuations (palign, fixed_trunc) keeps no example, and the pipeline would stop before
training. The smoke therefore runs each training method as `smoke_<name>`: the method itself
on the stand-in, then, where it kept nothing, the teacher's full chains of thought as the
training data (`full_cot`'s), so that training and evaluation always run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.config import RunConfig
from harness.methods import MethodResult, MethodSpec, get_method, register_method
from harness.smoke.standin import StandIn

METHOD_NEW_TOKENS = 16  # student continuations inside the method
EVAL_NEW_TOKENS = 16
TRAIN_STEPS = 2
PREFIX = "smoke_"
FALLBACK_NOTE = ("the method kept no example (a random stand-in answers nothing right): "
                 "trained on the teacher's full chains of thought instead")


def smoke_layer(cfg: RunConfig, standin: StandIn, cuda: bool) -> tuple[dict[str, Any], list[str]]:
    """The override layer that turns `cfg` into its smoke, and one note per setting it had to change."""
    engine, notes = _engine(cfg, cuda)
    layer: dict[str, Any] = {
        "student": {"model": str(standin.model)},
        "teacher": {"source": "s1k", "dataset": str(standin.teacher), "split": "train", "limit": None},
        "method": {"sampling": {"max_new_tokens": METHOD_NEW_TOKENS}},
        "train": {"budget": "steps", "max_steps": TRAIN_STEPS, "gradient_accumulation_steps": 2,
                  "max_length": standin.context, "save_steps": TRAIN_STEPS},
        "eval": {"data_dir": str(standin.data_dir), "limit": None, "grader_workers": 1,
                 "sampling": {"max_new_tokens": EVAL_NEW_TOKENS}},
        # vLLM takes the stand-in's context; the transformers engine reads it from the model.
        "engine": {"name": engine, "max_model_len": standin.context if engine == "vllm" else None},
    }
    if cfg.teacher.source != "s1k":
        notes.append(f"teacher: the toy s1K-1.1 rows stand in for teacher.source={cfg.teacher.source}")
    if not cuda:
        layer["engine"].update(device="cpu", dtype="float32")
        if cfg.train.bf16:
            layer["train"]["bf16"] = False
            notes.append("no CUDA GPU: bf16 is off (training and engine in float32); the real run trains in bf16")
    return layer, notes


def _engine(cfg: RunConfig, cuda: bool) -> tuple[str, list[str]]:
    from harness.engines.factory import choose_engine, missing_package

    name = choose_engine(cfg.engine)
    if missing_package(name):
        why = f"{name} is not installed"
    elif name == "vllm" and not cuda:
        why = "vllm needs a CUDA GPU and none is visible"
    else:
        return name, []
    return "transformers", [f"engine: {why}, so the smoke runs the transformers engine; the real run needs "
                            f"{name} (`harness run` checks it before any stage)"]


@contextmanager
def smoke_methods(selectors: list[str]) -> Iterator[list[str]]:
    """Within the block, `smoke_<name>` is registered for each training method; yields the selectors to run."""
    from harness.method_runs import parse_selector
    from harness.registries import METHODS

    with METHODS.isolated():  # afterwards the registry holds what it held before
        out = []
        for selector in selectors:
            spec = get_method(parse_selector(selector)[0])
            if spec.trains:
                if PREFIX + spec.name not in METHODS.names():  # fixed_trunc's variants share one
                    register_fallback(spec, PREFIX + spec.name)
                selector = PREFIX + selector
            out.append(selector)
        yield out


def register_fallback(spec: MethodSpec, name: str) -> None:
    """Register `name`: `spec`'s method, then the teacher's full CoTs (`full_cot`) where it kept no example."""
    full_cot = get_method("full_cot")

    def method(traces, params, ctx) -> MethodResult:
        result = spec.fn(traces, params, ctx)
        if result.examples:
            return MethodResult(result.examples, {**result.stats, "stand_in_fallback": None})
        fallback = full_cot.fn(traces, full_cot.params(), ctx)
        return MethodResult(fallback.examples, {**result.stats, "kept": len(fallback.examples),
                                                "stand_in_fallback": FALLBACK_NOTE})

    register_method(name, params=spec.params, variants=spec.variants,
                    description=f"{spec.name} on a stand-in student; the teacher's full CoTs where it keeps nothing")(method)
