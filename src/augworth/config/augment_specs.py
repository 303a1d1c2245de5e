"""The augmentation language: which families exist, their parameters, units and ranges.

An augmentation is written as stages joined by ``+``, each ``name`` or ``name(value, ...)`` or
``name(param=value, ...)``, applied left to right::

    crop(2)+flip          translation by up to 2 px (zero fill), then a horizontal flip
    rrc(0.08)             random-resized crop, area fraction in [0.08, 1]
    rotate(15)+noise(0.1) rotation by up to 15 degrees (bilinear), then Gaussian noise
    trivialaugment        TrivialAugment (non-linear: no closed-form moments)

This file is data (the schema); ``augworth.augment`` implements the families. Pixel values are
in [0, 1] and are never clipped by the linear families (clipping would make them non-linear).
"""

from __future__ import annotations

import re
from typing import Any

from .base import ConfigError

# name -> ordered {param: (type, default, (lo, hi), unit / meaning)}; ranges are inclusive.
LINEAR_FAMILIES: dict[str, dict[str, tuple[type, Any, tuple[float, float], str]]] = {
    "none": {},
    "crop": {"pad": (int, 2, (0, 16), "px: translation by a uniform integer offset in [-pad, pad]^2, zero fill")},
    "flip": {"p": (float, 0.5, (0.0, 1.0), "probability of a horizontal flip")},
    "rrc": {"smin": (float, 0.08, (0.01, 1.0), "smallest crop area (fraction of the image)"),
            "smax": (float, 1.0, (0.01, 1.0), "largest crop area (fraction)"),
            "rmin": (float, 0.75, (0.1, 10.0), "smallest aspect ratio (width / height)"),
            "rmax": (float, 4 / 3, (0.1, 10.0), "largest aspect ratio")},
    "rotate": {"deg": (float, 15.0, (0.0, 180.0), "degrees: angle uniform in [-deg, deg], bilinear, zero fill")},
    "brightness": {"b": (float, 0.2, (0.0, 1.0), "additive shift uniform in [-b, b] (pixel units)")},
    "contrast": {"c": (float, 0.3, (0.0, 1.0), "factor a uniform in [1-c, 1+c]: a x + (1-a) mean(x)")},
    "noise": {"sigma": (float, 0.1, (0.0, 1.0), "std of additive Gaussian noise (pixel units)")},
    "blur": {"smin": (float, 0.1, (0.01, 10.0), "smallest Gaussian sigma (px)"),
             "smax": (float, 1.5, (0.01, 10.0), "largest Gaussian sigma (px)"),
             "k": (int, 5, (3, 31), "kernel size (odd, px), reflect padding")},
}
NONLINEAR_FAMILIES: dict[str, dict[str, tuple[type, Any, tuple[float, float], str]]] = {
    "trivialaugment": {},
    "randaugment": {"n": (int, 2, (1, 10), "operations per image"), "m": (int, 9, (0, 30), "magnitude")},
    "autoaugment": {},
}
FAMILIES = {**LINEAR_FAMILIES, **NONLINEAR_FAMILIES}

_STAGE = re.compile(r"^\s*([a-z_]+)\s*(?:\((.*)\))?\s*$")


def parse_augment(spec: str) -> list[tuple[str, dict[str, Any]]]:
    """Parse an augmentation spec into ``[(family, {param: value}), ...]`` with defaults filled in.

    Raises :class:`ConfigError` naming the stage, the argument, the value and what is allowed.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"augmentation {spec!r} is empty: write e.g. 'none', 'crop(2)+flip'")
    stages = []
    for part in spec.split("+"):
        m = _STAGE.match(part)
        if not m:
            raise ConfigError(f"augmentation stage {part!r} is not of the form name or name(args)")
        name, args = m.group(1), m.group(2)
        if name not in FAMILIES:
            raise ConfigError(f"unknown augmentation '{name}' in {spec!r}: known are {', '.join(FAMILIES)}")
        schema = FAMILIES[name]
        values = {k: v[1] for k, v in schema.items()}
        given = [a.strip() for a in args.split(",")] if args and args.strip() else []
        for pos, arg in enumerate(given):
            key, sep, raw = arg.partition("=")
            if sep:
                key = key.strip()
                if key not in schema:
                    raise ConfigError(f"augmentation '{name}' has no argument '{key}': its arguments are "
                                      f"{', '.join(schema) or 'none'}")
            else:
                if pos >= len(schema):
                    raise ConfigError(f"augmentation '{name}' takes at most {len(schema)} arguments "
                                      f"({', '.join(schema) or 'none'}), got {len(given)}")
                key, raw = list(schema)[pos], arg
            typ, _, (lo, hi), meaning = schema[key]
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"augmentation '{name}' argument '{key}' = {raw!r} is not a number") from None
            if typ is int:
                if not value.is_integer():
                    raise ConfigError(f"augmentation '{name}' argument '{key}' = {raw} must be an integer")
                value = int(value)
            if not lo <= value <= hi:
                raise ConfigError(f"augmentation '{name}' argument '{key}' = {raw} is out of range: "
                                  f"allowed is [{lo}, {hi}] ({meaning})")
            values[key] = value
        for lo_key, hi_key in (("smin", "smax"), ("rmin", "rmax")):
            if lo_key in values and values[lo_key] > values[hi_key]:
                raise ConfigError(f"augmentation '{name}': {lo_key}={values[lo_key]} is larger than "
                                  f"{hi_key}={values[hi_key]}")
        if name == "blur" and values["k"] % 2 == 0:
            raise ConfigError(f"augmentation 'blur' argument 'k' = {values['k']} must be odd")
        stages.append((name, values))
    return stages


def is_linear(spec: str) -> bool:
    """True when every stage is linear in the pixels (closed-form moments exist)."""
    return all(name in LINEAR_FAMILIES for name, _ in parse_augment(spec))


def linear_part(spec: str) -> str | None:
    """The spec's linear stages, in order (its training-only, non-linear stages dropped); None
    when it has no linear stage other than 'none'. ``linear_part('crop(2)+trivialaugment')`` is
    ``'crop(2)'``: the part whose moments have a closed form."""
    stages = [part.strip() for part, (name, _) in zip(spec.split("+"), parse_augment(spec))
              if name in LINEAR_FAMILIES and name != "none"]
    return "+".join(stages) or None
