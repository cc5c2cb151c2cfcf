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

from harness.errors import HarnessError

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"
DEFAULT_PRESET = "synthetic"
UNSET_WORD = "None"


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
        raise HarnessError(errors[0] if errors else f"{where}: bad value {value!r}")
    if is_dataclass(tp):
        if not isinstance(value, dict):
            raise HarnessError(f"{where}: expected a mapping, got {value!r}")
        return from_dict(tp, value, where)
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise HarnessError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)] if args else value
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise HarnessError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise HarnessError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        return _number(value, int, (int,), where, "an integer")
    if tp is float:
        return _number(value, float, (int, float), where, "a number")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise HarnessError(f"{where}: expected a string, got {value!r}")
    return value


def from_dict(cls: type, data: dict[str, Any], where: str = "config") -> Any:
    """Build dataclass `cls` from a (possibly partial) mapping; unknown keys are errors."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise HarnessError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(names))})")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


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
    if path.is_dir():
        raise HarnessError(f"config file is a folder, not a file: {path}")
    if not path.is_file():
        raise HarnessError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
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


def preset_path(name: str) -> Path:
    path = CONFIGS_DIR / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))) or "none"
        raise HarnessError(f"unknown preset {name!r} (known: {known})")
    return path


def parse_override(text: str) -> dict[str, Any]:
    """`a.b.c=value` -> {"a": {"b": {"c": value}}}; the value is parsed as YAML scalar/list."""
    if "=" not in text:
        raise HarnessError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw else ""
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
    raise HarnessError(f"{where}: expected {noun}, got {value!r}")
