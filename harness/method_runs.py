"""Which methods a command runs and with which parameters: selectors, `method.params`, `--method all`.

Resolved when the config resolves, before any stage runs, by every command that reads a
config (`run`, `eval`, `train`, `teacher`), so a bad method parameter (a selector's typo or
`--set method.params.ratio=2`) is one line up front wherever it is given.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.config import RunConfig, check_sampled, yaml_value
from harness.errors import HarnessError, brief
from harness.methods import METHODS, MethodSpec, get_method
from harness.store import check_name


@dataclasses.dataclass
class MethodRun:
    """One row of a run: a registered method and its fully parsed parameters."""

    name: str
    params: Any
    selector: str  # as given: `palign`, `fixed_trunc:ratio=0.25`


def method_params(spec: MethodSpec, raw: dict[str, Any], pinned: dict[str, Any] | None = None) -> Any:
    """Parse `method.params` for one method, with a selector's `pinned` values on top.

    A key another registered method declares is not this method's (a preset may tune
    palign's `rollouts` and still run `full_cot`), but its value is still checked by the
    methods that declare it: `--set method.params.ratio=2` fails now, whichever method runs,
    not after the teacher stage of a later `--method fixed_trunc`. A key no method knows is
    an error. Pinned values (`fixed_trunc:ratio=0.25`) must be the method's own.
    """
    own = _fields(spec)
    others = [other for other in map(get_method, METHODS.names()) if other.name != spec.name]
    unknown = sorted(set(raw) - own - {key for other in others for key in _fields(other)})
    if unknown:
        raise HarnessError(f"method.params: no method has a parameter {brief(unknown[0])} (see `harness methods`)")
    foreign = sorted(set(pinned or {}) - own)
    if foreign:
        raise HarnessError(f"method {spec.name!r} has no parameter {brief(foreign[0])} (see `harness methods`)")
    for other in others:
        theirs = {k: v for k, v in raw.items() if k in _fields(other) and k not in own}
        if theirs:
            other.parse_params(theirs)  # a bad value is one line naming the field, as for the method that runs
    return spec.parse_params({**{k: v for k, v in raw.items() if k in own}, **(pinned or {})})


def _fields(spec: MethodSpec) -> set[str]:
    return {f.name for f in dataclasses.fields(spec.params)}


def parse_selector(text: str) -> tuple[str, dict[str, Any]]:
    """`NAME` or `NAME:key=value,key=value` (values read as YAML scalars) -> (name, pinned params)."""
    import yaml

    name, _, rest = text.partition(":")
    pinned: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise HarnessError(f"method selector {brief(text)}: expected NAME:key=value[,key=value]")
        try:
            pinned[key.strip()] = yaml_value(value, f"--method {name.strip()}") if value else ""
        except yaml.YAMLError:
            pinned[key.strip()] = value
    return name.strip(), pinned


def all_selectors() -> list[str]:
    """Every registered method, each declared variant as its own selector (`--method all`)."""
    out = []
    for name in METHODS.names():
        variants = get_method(name).variants or ({},)
        for pinned in variants:
            out.append(name + (":" + ",".join(f"{k}={v}" for k, v in pinned.items()) if pinned else ""))
    return out


def resolve_methods(cfg: RunConfig, selectors: list[str]) -> list[MethodRun]:
    """Parse every selector against the config's `method.params`; fails before any stage runs."""
    runs = []
    for text in selectors:
        name, pinned = parse_selector(text)
        spec = get_method(name)
        check_name(spec.name, "method")  # it names the method and train stage folders
        params = method_params(spec, cfg.method.params, pinned)
        check_repeated_samples(params, cfg)
        runs.append(MethodRun(name, params, text))
    return runs


def check_repeated_samples(params: Any, cfg: RunConfig) -> None:
    """Several samples of one prompt (palign's rollouts, continuations per prefix) need method.sampling to sample.

    A parameter dataclass names them in `repeated_samples()` -> {parameter: samples per prompt},
    counting only those its settings use (the self judge draws no rollouts).
    """
    repeated = getattr(params, "repeated_samples", None)
    for name, count in (repeated() if repeated else {}).items():
        check_sampled(f"method.params.{name}", count, cfg.method.sampling, "method.sampling")


def for_method(cfg: RunConfig, name: str) -> RunConfig:
    """The run's config with `method.name` set to the method a row runs (its stage keys name it)."""
    return dataclasses.replace(cfg, method=dataclasses.replace(cfg.method, name=name))
