"""Typed params: each stage parses its own params.yaml section into a frozen dataclass.

Unknown keys are an error (a typo must not silently fall back to a default), and so is a
missing key without a default. Nested dataclasses, lists and dicts of them are converted too.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path

import yaml

PARAMS_FILE = "params.yaml"


class ParamsError(ValueError):
    pass


def load_params(section: str, cls, path: str | Path = PARAMS_FILE):
    """Parse `section` of the YAML file at `path` into `cls`: a dataclass, or a type hint such
    as `list[Book]` (a list section, as in configs/books.yaml)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such file (cwd: {Path.cwd()})") from None
    if not isinstance(data, dict) or section not in data:
        sections = sorted(data) if isinstance(data, dict) else []
        raise ParamsError(f"{path}: no section '{section}' (sections: {sections})")
    return _convert(cls, data[section], where=f"{path}:{section}")


def from_dict(cls: type, data, where: str):
    if not isinstance(data, dict):
        raise ParamsError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ParamsError(f"{where}: unknown key(s) {unknown}; known keys: {sorted(fields)}")
    missing = [
        name
        for name, f in fields.items()
        if name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ParamsError(f"{where}: missing key(s) {missing}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _convert(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ParamsError(f"{where}: {e}") from e


def _convert(hint, value, where: str):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where) if len(inner) == 1 else value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ParamsError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping, got {type(value).__name__}")
        return {k: _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ParamsError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value
