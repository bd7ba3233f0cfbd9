"""The options an adapter declares, and the check configuration goes through.

An adapter is configured with the keys written beside ``adapter:`` in config.yaml. What
it accepts is declared by :meth:`Channel.declared_options
<rapport.channels.base.Channel.declared_options>`: by default the parameters of its
``__init__`` that YAML can write (text, numbers, true/false, lists, mappings), each with
its type and whether it is required. Parameters YAML cannot write (a stream, a
resolver, a callback) and keyword-only ones are for code, not configuration. An
adapter whose ``__init__`` takes ``**kwargs`` declares nothing (``None``): its options
are passed on unchecked.

:func:`option_problems` is what configuration loading and :func:`build_channel
<rapport.channels.registry.build_channel>` run, so a typo (``urll:``) is refused with
the adapter's accepted options listed, never found at the first send as a
``TypeError``. Every option ``X`` may also be given as ``X_env: VARIABLE`` (its value
then comes from that environment variable when the channel is built).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import os
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Final, Union

__all__ = ["ENV_SUFFIX", "OptionProblem", "OptionSpec", "from_signature", "option_problems"]

#: ``<option>_env: VAR`` takes the option's value from the environment.
ENV_SUFFIX: Final = "_env"
#: YAML's types, as the messages name them.
_TYPE_NAMES: Final = {
    str: "text",
    int: "whole number",
    float: "number",
    bool: "true/false",
    list: "list",
    dict: "mapping",
}


@dataclass(frozen=True)
class OptionSpec:
    """One option an adapter accepts: its name, the YAML types it takes (empty: any
    type), whether it is required and whether it may be null."""

    name: str
    types: tuple[type, ...] = ()
    required: bool = False
    nullable: bool = False

    def describe(self) -> str:
        """``url (text, required)``, as the lists in messages show it."""
        notes = [label] if (label := _label(self.types)) else []
        if self.required:
            notes.append("required")
        return f"{self.name} ({', '.join(notes)})" if notes else self.name

    def refuses(self, value: object) -> str | None:
        """Why ``value`` does not fit this option, or None when it does."""
        if value is None:
            return None if self.nullable or not self.types else "may not be empty (null)"
        if not self.types:
            return None
        if isinstance(value, bool):
            fits = bool in self.types
        else:
            fits = isinstance(value, tuple(t for t in self.types if t is not bool))
        if fits:
            return None
        given = _TYPE_NAMES.get(type(value), type(value).__name__)
        return f"is {given}; it takes {_label(self.types)}"


def _label(kinds: tuple[type, ...]) -> str:
    """``text``, ``number`` (int and float), ``text or list``: YAML types for a reader."""
    names = [_TYPE_NAMES[t] for t in kinds if not (t is int and float in kinds)]
    return " or ".join(dict.fromkeys(names))


@dataclass(frozen=True)
class OptionProblem:
    """One option that does not fit: its key (None for a required option that is
    missing, which belongs to the ``adapter:`` line) and what is wrong."""

    key: str | None
    message: str


def _yaml_types(annotation: object) -> tuple[tuple[type, ...], bool] | None:
    """(the YAML types an annotation takes, whether it takes null); () for any type;
    None when YAML cannot write it at all."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return (), True
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        found: list[type] = []
        nullable = False
        for member in typing.get_args(annotation):
            if member is type(None):
                nullable = True
                continue
            inner = _yaml_types(member)
            if inner is None:
                continue
            if not inner[0]:
                return (), True
            found.extend(inner[0])
        return (tuple(dict.fromkeys(found)), nullable) if found else None
    kind = origin if isinstance(origin, type) else annotation
    if not isinstance(kind, type):
        return None
    if kind is bool:
        return (bool,), False
    if kind is float:
        return (int, float), False
    for python, yaml in ((str, str), (int, int), (dict, dict), (list, list), (tuple, list)):
        if issubclass(kind, python):
            return (yaml,), False
    if issubclass(kind, os.PathLike | PurePath):
        return (str,), False
    if issubclass(kind, Mapping):
        return (dict,), False
    if issubclass(kind, Sequence | Iterable) and not issubclass(kind, str | bytes):
        return (list,), False
    return None


@functools.cache
def from_signature(cls: type) -> dict[str, OptionSpec] | None:
    """The options ``cls.__init__`` takes that YAML can write; None with ``**kwargs``.

    Read once per class (type hints resolved, signature inspected): a lane builds one
    adapter per connection, each checked against these. Callers must not change it."""
    init = cls.__init__  # type: ignore[misc]
    try:
        hints = typing.get_type_hints(init)
    except (NameError, TypeError):  # a name only imported for type checking
        hints = {}
    declared: dict[str, OptionSpec] = {}
    for index, parameter in enumerate(inspect.signature(init).parameters.values()):
        if parameter.kind is parameter.VAR_KEYWORD:
            return None
        if index == 0 or parameter.kind not in (
            parameter.POSITIONAL_OR_KEYWORD,
            parameter.POSITIONAL_ONLY,
        ):
            continue  # self, *args and keyword-only parameters are for code
        accepted = _yaml_types(hints.get(parameter.name, parameter.empty))
        if accepted is None:
            continue
        required = parameter.default is parameter.empty
        nullable = accepted[1] or (not required and parameter.default is None)
        declared[parameter.name] = OptionSpec(parameter.name, accepted[0], required, nullable)
    return declared


#: The longest ``timeout`` an adapter may be given, in seconds (providers answer in
#: seconds; a longer wait only holds a connection and a message's lease).
MAX_TIMEOUT = 600


def _bounds_refused(name: str, value: Any) -> str | None:
    """Why a ``timeout`` option is out of its bounds: 0 or less made every send time out
    at once (retried until it failed for good), a day held a connection for a day."""
    if name != "timeout" or isinstance(value, bool) or not isinstance(value, int | float):
        return None  # its type is checked by the declared option
    if isinstance(value, float) and not math.isfinite(value):
        return None  # refused as no finite number (configcheck), once
    if not 0 < value <= MAX_TIMEOUT:
        return f"is {value}: seconds, more than 0 and at most {MAX_TIMEOUT}"
    return None


def option_problems(
    adapter: str, declared: Mapping[str, OptionSpec] | None, options: Mapping[str, Any]
) -> list[OptionProblem]:
    """What is wrong with ``options`` for an adapter declaring ``declared``: unknown
    keys (with the accepted ones listed), values of the wrong type, required options
    missing. ``X_env`` keys are checked as naming option ``X``; their value is a
    variable's name, looked up only when the channel is built."""
    if declared is None:
        return []
    accepted = ", ".join(spec.describe() for spec in declared.values()) or "no options"
    problems: list[OptionProblem] = []
    for key, value in options.items():
        name = str(key)
        target = name.removesuffix(ENV_SUFFIX) if name != ENV_SUFFIX else name
        if target not in declared:
            close = difflib.get_close_matches(target, list(declared), n=1)
            hint = f"did you mean {close[0] + name[len(target) :]!r}? " if close else ""
            problems.append(
                OptionProblem(
                    name,
                    f"unknown option {name!r} for adapter {adapter!r}; {hint}it takes: "
                    f"{accepted} (each also as <name>{ENV_SUFFIX}: VARIABLE)",
                )
            )
        elif target != name:
            if not isinstance(value, str) or not value:
                problems.append(OptionProblem(name, "must name an environment variable"))
            elif target in options:
                problems.append(OptionProblem(name, f"give {target!r} or {name!r}, not both"))
        elif (why := declared[name].refuses(value) or _bounds_refused(name, value)) is not None:
            problems.append(OptionProblem(name, f"option {name!r} {why}"))
    for spec in declared.values():
        if spec.required and spec.name not in options and spec.name + ENV_SUFFIX not in options:
            problems.append(
                OptionProblem(
                    None, f"adapter {adapter!r} needs option {spec.name!r}; it takes: {accepted}"
                )
            )
    return problems
