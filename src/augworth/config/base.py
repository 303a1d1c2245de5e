"""Typed, validated parameter dataclasses.

A notebook's parameters are a frozen dataclass whose fields are declared with :func:`param`
(default, help text, unit, allowed range or choices). Building one -- directly, from a profile's
YAML file, or from command-line overrides -- validates every field *before any work starts*, and
a bad value stops the run with a message that names the parameter, the value given and what is
allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar


class ConfigError(ValueError):
    """A parameter is unknown, of the wrong type or out of range."""


def param(
    default: Any,
    help: str,
    *,
    unit: str | None = None,
    range: tuple[float | None, float | None] | None = None,
    choices: tuple[Any, ...] | None = None,
    finite: bool = True,
    of: str | None = None,
) -> Any:
    """Declare a parameter field.

    ``range`` is inclusive at both ends (``None`` for an open end) and applies to a number or to
    every element of a tuple; ``choices`` lists the allowed values (of a scalar or of each
    element of a tuple); numbers must be finite (no NaN or infinity) unless ``finite`` is False.
    ``of``: "train" or "test" for a number of images drawn from that split, checked against
    the data before a run trains anything (:meth:`Params.check_sizes`).
    """
    meta = {"help": help, "unit": unit, "range": range, "choices": choices, "finite": finite, "of": of}
    if isinstance(default, list):
        default = tuple(default)
    return dataclasses.field(default=default, metadata=meta)


_YAML_WORDS = {False: ("off", "no", "false"), True: ("on", "yes", "true")}


def _yaml_word(value: Any, choices) -> Any:
    """YAML reads an unquoted off/no/on/yes as a boolean: give a string choice back its word."""
    if isinstance(value, bool) and choices and all(isinstance(c, str) for c in choices):
        for word in _YAML_WORDS[value]:
            if word in choices:
                return word
    return value


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is tuple:
        elem = _describe(typing.get_args(tp)[0]).removeprefix("an ").removeprefix("a ")
        return f"a list of {elem}s"
    if tp is type(None):
        return "null"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}.get(tp, str(tp))


def _coerce(value: Any, tp: Any) -> Any:
    """Return ``value`` as type ``tp`` or raise TypeError; never a lossy conversion."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg)
            except TypeError:
                continue
        raise TypeError
    if tp is type(None):
        if value is None:
            return None
        raise TypeError
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise TypeError
        (elem,) = typing.get_args(tp)[:1]
        return tuple(_coerce(v, elem) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise TypeError
    if tp is int:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise TypeError
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError
        return float(value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise TypeError
    raise TypeError(f"unsupported parameter type {tp}")


def _allowed(f: dataclasses.Field, tp: Any) -> str:
    tp_text = _describe(tp)
    rng, choices = f.metadata.get("range"), f.metadata.get("choices")
    parts = [tp_text]
    if choices is not None:
        parts.append("one of " + ", ".join(repr(c) for c in choices))
    if rng is not None:
        lo, hi = rng
        parts.append(f"in [{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]")
    return ", ".join(parts)


@dataclasses.dataclass(frozen=True)
class Params:
    """Base of every notebook's parameters. Subclasses add fields with :func:`param`."""

    notebook: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _yaml_word(getattr(self, f.name), f.metadata.get("choices"))
            try:
                coerced = _coerce(value, hints[f.name])
            except TypeError:
                raise ConfigError(self._bad(f, value, "has the wrong type")) from None
            object.__setattr__(self, f.name, coerced)
            self._check_value(f, coerced, given=value)
        self.check()

    # -- validation -------------------------------------------------------------------------
    def _bad(self, f: dataclasses.Field, value: Any, what: str) -> str:
        where = f" of notebook '{self.notebook}'" if self.notebook else ""
        allowed = _allowed(f, typing.get_type_hints(type(self))[f.name])
        return f"parameter '{f.name}'{where} = {value!r} {what}: allowed is {allowed}"

    def _check_value(self, f: dataclasses.Field, value: Any, given: Any) -> None:
        """Check ``value`` (coerced); messages show ``given``, the value as the user wrote it."""
        items = value if isinstance(value, tuple) else (value,)
        rng, choices = f.metadata.get("range"), f.metadata.get("choices")
        for v in items:
            if v is None:
                continue
            if isinstance(v, float) and not math.isfinite(v) and f.metadata.get("finite", True):
                raise ConfigError(self._bad(f, given, "is not a finite number"))
            if choices is not None and v not in choices:
                raise ConfigError(self._bad(f, given, "is not allowed"))
            if rng is not None:
                lo, hi = rng
                if (lo is not None and v < lo) or (hi is not None and v > hi):
                    raise ConfigError(self._bad(f, given, "is out of range"))

    def check(self) -> None:
        """Cross-field checks; subclasses override and raise :class:`ConfigError`."""

    def check_sizes(self, available: Mapping[str, int], where: Mapping[str, str]) -> None:
        """Fail, naming the parameter, when one of its image counts (fields declared with
        ``of``) asks for more images than ``available[of]`` (``where[of]`` says of what)."""
        for f in dataclasses.fields(self):
            of = f.metadata.get("of")
            if of is None:
                continue
            value = getattr(self, f.name)
            too_big = [v for v in (value if isinstance(value, tuple) else (value,)) if v > available[of]]
            if too_big:
                held = f"holds {too_big}, more" if isinstance(value, tuple) else "is more"
                self.fail(f.name, f"{held} than the {available[of]:,} {where[of]}")

    def fail(self, name: str, message: str) -> typing.NoReturn:
        """Raise a :class:`ConfigError` about field ``name`` (for use in :meth:`check`)."""
        value = getattr(self, name)
        where = f" of notebook '{self.notebook}'" if self.notebook else ""
        raise ConfigError(f"parameter '{name}'{where} = {value!r} {message}")

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "") -> "Params":
        """Build from a mapping, rejecting unknown names (with a suggestion)."""
        cls.check_names(values, source)
        return cls(**dict(values))

    @classmethod
    def check_names(cls, values: Mapping[str, Any], source: str = "") -> None:
        """Refuse names that are not parameters, saying where they came from."""
        known = [f.name for f in dataclasses.fields(cls)]
        for name in values:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                src = f" (from {source})" if source else ""
                raise ConfigError(
                    f"unknown parameter '{name}' for notebook '{cls.notebook}'{src}.{hint} "
                    f"Known parameters: {', '.join(known)}"
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-able dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """One row per parameter: name, default, unit, allowed values, help."""
        hints = typing.get_type_hints(cls)
        rows = []
        for f in dataclasses.fields(cls):
            rows.append(
                {
                    "name": f.name,
                    "default": f.default,
                    "unit": f.metadata.get("unit"),
                    "allowed": _allowed(f, hints[f.name]),
                    "help": f.metadata.get("help", ""),
                }
            )
        return rows
