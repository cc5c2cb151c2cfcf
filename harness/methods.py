"""The method registry and what a method sees and returns.

A method turns the shared teacher traces into SFT examples for the shared trainer:

    @register_method("my_method", params=MyParams, description="one line")
    def my_method(traces: list[Trace], params: MyParams, ctx: MethodContext) -> MethodResult:
        ...

Third-party packages register through the `harness.methods` entry-point group. What a
method returns is checked (`check_result`) before its stage is published.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import PAPER_INSTRUCTION, SamplingConfig, from_dict
from harness.errors import HarnessError
from harness.registries import METHODS
from harness.registry import NAME


@dataclass
class Trace:
    """One teacher record, as stored in the teacher stage's traces.jsonl."""

    id: str
    problem: str
    answer: str
    long_cot: str
    short_cot: str
    source: str = ""
    teacher: str = ""


@dataclass
class SFTExample:
    """Conversational prompt-completion pair for TRL: the user turn and the assistant's target."""

    id: str
    prompt: str
    completion: str

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "prompt": [{"role": "user", "content": self.prompt}],
            "completion": [{"role": "assistant", "content": self.completion}],
        }


@dataclass
class MethodResult:
    examples: list[SFTExample]
    stats: dict[str, Any] = field(default_factory=dict)


def check_result(method: str, result: object) -> None:
    """Refuse, in one line naming the method and its first bad example, an output the trainer could
    not use or would use wrongly: a `MethodResult` of `SFTExample`s whose fields are strings, with
    a non-blank prompt and completion and ids unique across the examples, and stats JSON can hold."""
    said = f"method {method!r} returned"
    if not isinstance(result, MethodResult):
        raise HarnessError(f"{said} a {type(result).__name__}, not a MethodResult(examples, stats)")
    if not isinstance(result.examples, list):
        raise HarnessError(f"{said} examples as a {type(result.examples).__name__}, not a list of SFTExample")
    seen: set[str] = set()
    for index, example in enumerate(result.examples):
        problem = _example_problem(example, seen)
        if problem:
            name = getattr(example, "id", None)
            named = f" (id {name!r:.60})" if isinstance(name, str) else ""
            raise HarnessError(f"{said} a bad example #{index}{named}: {problem}")
        seen.add(example.id)
    if not isinstance(result.stats, dict):
        raise HarnessError(f"{said} stats as a {type(result.stats).__name__}, not a dict")
    try:
        json.dumps(result.stats)
    except (TypeError, ValueError) as exc:
        raise HarnessError(f"{said} stats that are not JSON: {exc}") from None


def _example_problem(example: object, seen: set[str]) -> str | None:
    if not isinstance(example, SFTExample):
        return f"a {type(example).__name__}, not an SFTExample"
    for name in ("id", "prompt", "completion"):
        value = getattr(example, name)
        if not isinstance(value, str):
            return f"its {name} is {value!r:.40} ({type(value).__name__}), not a string"
    for name in ("prompt", "completion"):
        if not getattr(example, name).strip():
            return f"its {name} is empty"
    if example.id in seen:
        return "its id repeats an earlier example's"
    return None


@dataclass
class MethodContext:
    """What a method may use besides the traces: the student, its engine, settings, a work folder."""

    student: str
    engine_factory: Callable[[], Any]
    sampling: SamplingConfig
    seed: int
    work_dir: Path
    instruction: str = PAPER_INSTRUCTION
    enable_thinking: bool | None = None
    max_length: int | None = None  # train.max_length: a method must not build longer examples
    grader_timeout: float = 5.0
    grader_workers: int = 2
    store: Any = None  # the run store, for methods that cache their own artifacts
    _engine: Any = None
    _grader: Any = None

    @property
    def engine(self) -> Any:
        """The student's engine, built on first use (methods that never generate never load it)."""
        if self._engine is None:
            self._engine = self.engine_factory()
        return self._engine

    @property
    def grader(self) -> Any:
        """One sandboxed grader pool (`harness.eval.grading.Grader`) for the whole method, built on
        first use: a pool costs seconds to start, and a search grades once per round."""
        if self._grader is None:
            from harness.eval.grading import Grader

            self._grader = Grader(self.grader_workers, self.grader_timeout)
        return self._grader

    def close(self) -> None:
        """Stop the grader pool, if one was started (the engine is shared and stays)."""
        if self._grader is not None:
            self._grader.close()
            self._grader = None


@dataclass
class NoParams:
    pass


# Field metadata of a parameter added after records were made: `field(default=..., metadata={ADDED: True})`.
ADDED = "added"


def recorded_params(params: Any) -> dict[str, Any]:
    """A method's parameters as its stage key and its result record hold them.

    Every field, except a field marked `ADDED` while it keeps its default: its default is how
    the method behaved before the field existed, so leaving it out keeps every earlier key,
    cached stage and board row valid. Set to anything else, it is recorded like any field.
    """
    if params is None or not dataclasses.is_dataclass(params):
        return {}
    out = dataclasses.asdict(params)
    for f in dataclasses.fields(params):
        if f.metadata.get(ADDED) and f.default is not dataclasses.MISSING and getattr(params, f.name) == f.default:
            del out[f.name]
    return out


@dataclass
class MethodSpec:
    name: str
    fn: Callable[[list[Trace], Any, MethodContext], MethodResult]
    params: type = NoParams
    description: str = ""
    trains: bool = True  # False for controls such as `none`: the student is evaluated as it is
    # Parameter sets `--method all` runs as separate board rows (fixed_trunc's ratios); () = the defaults.
    variants: tuple[dict[str, Any], ...] = ()

    def parse_params(self, raw: dict[str, Any]) -> Any:
        return from_dict(self.params, raw, f"method.params ({self.name})")


def register_method(name: str, *, params: type = NoParams, description: str = "", trains: bool = True,
                    variants: tuple[dict[str, Any], ...] = ()):
    """Register `fn(traces, params, ctx) -> MethodResult` under `name`.

    `variants`: parameter sets that `--method all` runs as separate rows (each must parse).
    """

    if not NAME.fullmatch(name):
        # The name becomes a store folder and a CLI word: no path separators, no leading dot.
        raise ValueError(f"method name {name!r} must match {NAME.pattern}")

    def decorator(fn: Callable[[list[Trace], Any, MethodContext], MethodResult]):
        doc = description or next(iter((fn.__doc__ or "").strip().splitlines()), "")
        METHODS.add(name, MethodSpec(name=name, fn=fn, params=params, description=doc, trains=trains,
                                     variants=tuple(variants)))
        return fn

    return decorator


def get_method(name: str) -> MethodSpec:
    spec = METHODS.get(name)
    if not isinstance(spec, MethodSpec):
        raise TypeError(f"entry point for method {name!r} is not a MethodSpec; use @register_method")
    return spec
