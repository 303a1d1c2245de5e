"""Parameters: typed dataclasses per notebook, profiles as YAML files, overrides on top."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from .. import paths
from .base import ConfigError, Params, param
from .chapters import (DATASETS, NOTEBOOK_PARAMS, ClassLevelParams, DataParams, DataSource, ExchangeRateParams,
                       FlatnessParams, SaliencyParams,
                       SampleComplexityParams)
from .augment_specs import FAMILIES, LINEAR_FAMILIES, NONLINEAR_FAMILIES, is_linear, linear_part, parse_augment
from .worth import WorthParams
from .training import MODEL_NAMES, TrainCell, TrainConfig, class_policies

#: Profiles and what each is for. A profile is data: one YAML file per notebook.
PROFILES: dict[str, str] = {
    "smoke": "tests: seconds per notebook; numbers are not meaningful",
    "quick": "exploration: every notebook in minutes on two CPU cores; a real, small measurement (exploratory)",
    "book": "default, the book's evidence: converged models, exploratory and pre-registered confirmatory seeds "
            "(params/book/preregistration.yaml); computed once and shipped under data/results/book",
    "full": "the publication run, sized for one GPU",
}
DEFAULT_PROFILE = "book"

__all__ = [
    "ConfigError", "Params", "param", "PROFILES", "DEFAULT_PROFILE", "NOTEBOOK_PARAMS",
    "DATASETS", "DataParams", "DataSource", "TrainConfig", "TrainCell", "class_policies", "MODEL_NAMES", "FAMILIES", "LINEAR_FAMILIES",
    "NONLINEAR_FAMILIES", "parse_augment", "is_linear", "linear_part", "WorthParams", "params_class", "profile_values", "load_params",
    "parse_overrides", "sizes_by_profile", "as_given",
]


def params_class(notebook: str) -> type[Params]:
    try:
        return NOTEBOOK_PARAMS[notebook]
    except KeyError:
        raise ConfigError(
            f"unknown notebook '{notebook}': known notebooks are {', '.join(sorted(NOTEBOOK_PARAMS))}"
        ) from None


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile '{profile}': allowed profiles are {', '.join(PROFILES)}")


def profile_values(notebook: str, profile: str) -> dict[str, Any]:
    """The raw values of ``params/<profile>/<notebook>.yaml`` (not yet validated)."""
    params_class(notebook)
    _check_profile(profile)
    path = paths.PARAMS / profile / f"{notebook}.yaml"
    if not path.is_file():
        raise ConfigError(f"no parameter file for notebook '{notebook}' in profile '{profile}': "
                          f"expected params/{profile}/{notebook}.yaml")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
        raise ConfigError(f"params/{profile}/{notebook}.yaml is not valid YAML{at}: "
                          f"{getattr(err, 'problem', None) or err}; fix it, or restore it with "
                          f"git checkout params/{profile}/{notebook}.yaml") from None
    if not isinstance(values, dict):
        raise ConfigError(f"params/{profile}/{notebook}.yaml must hold a mapping of name: value")
    return values


def load_params(notebook: str, profile: str = DEFAULT_PROFILE,
                overrides: Mapping[str, Any] | None = None) -> Params:
    """Resolve a notebook's parameters: dataclass defaults < profile file < overrides."""
    values = profile_values(notebook, profile)
    cls = params_class(notebook)
    source, cli = f"params/{profile}/{notebook}.yaml", "the command line: P= / --set"
    overrides = dict(overrides or {})
    cls.check_names(values, source)
    cls.check_names(overrides, cli)
    values.update(overrides)
    try:
        return cls.from_mapping(values, source=source)
    except ConfigError as err:  # say where the bad value came from
        name = str(err).split("'")[1] if str(err).startswith("parameter '") else None
        if name is None or name not in values:
            raise
        raise ConfigError(f"{err} (given {'on ' + cli if name in overrides else 'in ' + source})") from None


def _quoting(key: str) -> str:
    example = f'{key}=["rrc(0.5,1.0)", flip]'
    return (f"quote each spec that holds a comma inside the list, and the whole pair for the shell: "
            f"P='{example}' or --set '{example}'")


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings; values are YAML (``3``, ``0.5``, ``true``, ``[1, 2]``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override '{pair}' is not of the form key=value (e.g. seed=3)")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            why = " ".join(str(err).split())
            raise ConfigError(f"override '{pair}': the value is not valid YAML ({why})"
                              + (f"; {_quoting(key.strip())}" if "[" in raw else "")) from None
        if isinstance(value, list) and _split_spec(value):
            raise ConfigError(f"override '{pair}': a comma inside a spec split it into {value!r}; "
                              f"{_quoting(key.strip())}")
        out[key.strip()] = value
    return out


def _split_spec(values: list) -> bool:
    """True when an unquoted comma inside parentheses split a list's spec in two: an item opens
    a parenthesis that it does not close."""
    return any(isinstance(v, str) and v.count("(") > v.count(")") for v in values)


#: Parameters the user gives under another name: a command-line option, a make variable.
GIVEN_AS = {"augment": "--augment (make: AUG)", "baseline": "--baseline (make: BASELINE)",
            "data_path": "--data (make: DATA)", "dataset": "--data (make: DATA)", "image_size": "--resize", "minutes": "--minutes", "sizes": "--sizes",
            "steps": "--steps", "seeds": "--seeds", "model": "--model", "width": "--width"}


def as_given(err: ConfigError, given: Iterable[str]) -> ConfigError:
    """``err`` naming the option the user gave (``--resize``), not the parameter it fed
    (``image_size``), when the parameter is among ``given``."""
    import re

    text = str(err)
    for name in given:
        found = re.match(rf"parameter '{name}'( of notebook '\w+')?", text)
        if found and name in GIVEN_AS:
            return ConfigError(f"{GIVEN_AS[name]}{text[found.end():]} (parameter '{name}'{found.group(1) or ''})")
    return err


def sizes_by_profile() -> list[dict[str, Any]]:
    """Every parameter measured in images (training-subset sizes, validation sizes, ...) of every
    notebook in every profile: what each profile asks of the data."""
    rows = []
    for name, cls in sorted(NOTEBOOK_PARAMS.items()):
        image_params = [r for r in cls.describe() if r["unit"] == "images"]
        for profile in PROFILES:
            if not (paths.PARAMS / profile / f"{name}.yaml").is_file():
                continue
            resolved = load_params(name, profile).to_dict()
            for r in image_params:
                rows.append({"profile": profile, "notebook": name, "parameter": r["name"],
                             "value": resolved[r["name"]], "meaning": r["help"]})
    return rows
