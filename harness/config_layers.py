"""Config layers and typed conversion: presets, `--config` files, `--set` overrides, mappings to dataclasses.

A resolved config is defaults <- preset <- config file <- overrides, deep-merged as plain
mappings and then converted to the dataclasses of `harness.config` in one pass, so that an
unknown key or a wrong type anywhere is one line naming its dotted path. Nothing here knows
the dataclasses themselves: this module sits below `harness.config`, not beside it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError, brief, clip

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"
DEFAULT_PRESET = "synthetic"
UNSET_WORD = "None"
# Far above any config (a preset holds about a hundred values), far below what hurts: nine
# nested lists of nine aliases each are 9**9 values that a few hundred bytes of YAML spell.
MAX_VALUES = 100_000


def to_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg)


def to_yaml(cfg: Any) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check and convert one value to the annotated type, or raise a one-line error."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        # Unset is YAML's null (`null`, `~`), or Python's spelling `None`, which people type in --set.
        if (value is None or value == UNSET_WORD) and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except HarnessError as exc:
                errors.append(str(exc))
        raise HarnessError(errors[0] if errors else f"{where}: bad value {brief(value)}")
    if is_dataclass(tp):
        if not isinstance(value, dict):
            raise HarnessError(f"{where}: expected a mapping, got {brief(value)}")
        return from_dict(tp, value, where)
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise HarnessError(f"{where}: expected a list, got {brief(value)}")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)] if args else value
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise HarnessError(f"{where}: expected a mapping, got {brief(value)}")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise HarnessError(f"{where}: expected true/false, got {brief(value)}")
    if tp is int:
        return _number(value, int, (int,), where, "an integer")
    if tp is float:
        return _number(value, float, (int, float), where, "a number")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise HarnessError(f"{where}: expected a string, got {brief(value)}")
    return value


def from_dict(cls: type, data: dict[str, Any], where: str = "config") -> Any:
    """Build dataclass `cls` from a (possibly partial) mapping; unknown keys are errors."""
    hints = typing.get_type_hints(cls)
    by_name = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(by_name))
    if unknown:
        raise HarnessError(f"{where}: unknown key {brief(unknown[0])} (known: {', '.join(sorted(by_name))})")
    kwargs = {k: _coerce(_onto_default(by_name[k], v), hints[k], f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


def _onto_default(f: dataclasses.Field, value: Any) -> Any:
    """A partial mapping for a section whose default differs from its class's defaults, laid over that default.

    `teacher.sampling` samples at temperature 0.6 by default, `SamplingConfig()` is greedy:
    `--set teacher.sampling.max_new_tokens=16` must change the length, not the temperature too.
    """
    if isinstance(value, dict) and f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        default = f.default_factory()  # type: ignore[misc]
        if is_dataclass(default):
            return merge(asdict(default), value)
    return value


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `update` into a copy of `base` (mappings merge, everything else replaces)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        if path.is_dir():
            raise HarnessError(f"config file is a folder, not a file: {path}")
        if not path.is_file():
            raise HarnessError(f"config file not found: {path}")
        data = yaml_value(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise HarnessError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise HarnessError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise HarnessError(f"{path}: malformed YAML{at}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: expected a mapping at the top level")
    return data


class _BoundedLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a document whose aliases expand past `MAX_VALUES` values.

    Aliases share one constructed object, so loading a bomb is cheap; what is not is any
    later walk that copies or prints the value (an error echoing it, `asdict`, a key's
    JSON). The count is taken on the composed nodes, each counted once, before anything is built.
    """

    where = "YAML"  # the file or flag, for the message

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        _check_expansion(node, self.where)
        return node


def _check_expansion(root: yaml.Node, where: str) -> None:
    """Values in the document with every alias expanded, counted on the shared nodes (no expansion)."""
    sizes: dict[int, int] = {}  # id(node) -> its expanded size, capped past the bound
    open_nodes: set[int] = set()  # the nodes whose subtree is being counted: meeting one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, counted = stack.pop()
        children = _children(node)
        if counted:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in children), MAX_VALUES + 1)
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise HarnessError(f"{where}: a YAML alias refers to a value that contains it")
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    if sizes[id(root)] > MAX_VALUES:
        raise HarnessError(f"{where}: YAML aliases expand to more than {MAX_VALUES} values; write the values out")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def yaml_value(text: str, where: str) -> Any:
    """`text` read as YAML (a config file, a `--set` value), bounded: one line for what cannot be held.

    Malformed YAML is `yaml.YAMLError`, for the caller to word; nesting too deep for the parser
    and integers too long to convert are refused here, as is an alias bomb.
    """
    loader = _BoundedLoader(text)
    loader.where = where
    try:
        return loader.get_single_data()
    except RecursionError:
        raise HarnessError(f"{where}: YAML nested too deeply") from None
    except ValueError as exc:  # an integer past Python's digit limit, a date like 2024-13-45
        raise HarnessError(f"{where}: a YAML value that cannot be built ({clip(str(exc).split(';')[0], 100)})") from None
    finally:
        loader.dispose()


def preset_path(name: str) -> Path:
    # Looked up among the presets, not as a path: a name too long for the file system is unknown too.
    known = sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))
    if name not in known:
        raise HarnessError(f"unknown preset {brief(name)} (known: {', '.join(known) or 'none'})")
    return CONFIGS_DIR / f"{name}.yaml"


def parse_override(text: str) -> dict[str, Any]:
    """`a.b.c=value` -> {"a": {"b": {"c": value}}}; the value is parsed as YAML scalar/list."""
    if "=" not in text:
        raise HarnessError(f"override {brief(text)} must look like section.key=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml_value(raw, f"--set {key.strip()}") if raw else ""
    except yaml.YAMLError:
        value = raw
    return nested(key.strip(), value)


def nested(key: str, value: Any) -> dict[str, Any]:
    """`("a.b.c", v)` -> {"a": {"b": {"c": v}}}: a command-line flag as an override layer."""
    out: dict[str, Any] = {}
    node = out
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def layered(preset: str | None, config_file: str | Path | None, overrides: list[dict[str, Any]] | None,
            base_preset: str | None = DEFAULT_PRESET) -> dict[str, Any]:
    """The merged mapping: `base_preset` (when neither a preset nor a file is given) or `preset`,
    then the file, then each override in order."""
    data: dict[str, Any] = {}
    if preset is not None or (config_file is None and base_preset is not None):
        data = merge(data, load_with_include(preset_path(preset or str(base_preset))))
    if config_file is not None:
        data = merge(data, load_with_include(Path(config_file)))
    for override in overrides or []:
        data = merge(data, override)
    return data


def load_with_include(path: Path, depth: int = 0) -> dict[str, Any]:
    """A YAML file may start from another preset with `include: NAME` (lm-eval style)."""
    if depth > 8:
        raise HarnessError(f"{path}: include chain too deep")
    data = load_yaml(path)
    parent = data.pop("include", None)
    if parent is None:
        return data
    return merge(load_with_include(preset_path(str(parent)), depth + 1), data)


def field_help(cls: type) -> list[tuple[str, str, str]]:
    """(name, default, help) for each field, for `--help`-style listings."""
    rows = []
    for f in fields(cls):
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = repr(f.default_factory())  # type: ignore[misc]
        else:
            default = "required"
        rows.append((f.name, default, f.metadata.get("help", "")))
    return rows


def _number(value: Any, tp: type, accepted: tuple[type, ...], where: str, noun: str) -> Any:
    """`value` as `tp`: a number of an `accepted` type (never a bool) or a string that parses."""
    if isinstance(value, accepted) and not isinstance(value, bool):
        return tp(value)
    if isinstance(value, str):
        try:
            return tp(value)
        except ValueError:
            pass
    raise HarnessError(f"{where}: expected {noun}, got {brief(value)}")
