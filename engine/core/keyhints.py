"""The key a misspelt one was meant to be: the hint of an "unknown key" problem.

Pydantic says a key is not allowed (``extra_forbidden``) at a location such as
``("web", "basse_url")`` or ``("trigger", "birthday", "days_befor")`` (a tagged union
puts the tag in it), but not which keys the model there takes. :func:`meant_key`
follows the location through the model's fields (mappings, lists and unions of models
included) and picks the closest of that model's keys, as the hints for adapter options
and quiet-hours kinds do (:mod:`rapport.engine.core.configcheck`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel


def _model(annotation: Any) -> type[BaseModel] | None:
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation if is_model else None


def _keys(model: type[BaseModel]) -> dict[str, Any]:
    """The keys a model takes (aliases where it has them) and their annotations."""
    return {field.alias or name: field.annotation for name, field in model.model_fields.items()}


def _tagged(model: type[BaseModel], tag: object) -> bool:
    """Whether some field of ``model`` is a literal holding ``tag`` (a union's tag)."""
    return any(
        get_origin(annotation) is Literal and tag in get_args(annotation)
        for annotation in _keys(model).values()
    )


def _step(annotation: Any, part: str | int) -> tuple[Any, bool]:
    """What ``part`` of the location leads to from ``annotation``, and whether ``part``
    was used up (a union's tag or member name is not a key: the same part is then
    looked up again in that member)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return get_args(annotation)[0], False
    if origin in (Union, UnionType):
        arms = [arm for arm in get_args(annotation) if arm is not type(None)]
        for arm in arms:
            model = _model(arm)
            if model is not None and (part == model.__name__ or _tagged(model, part)):
                return model, True
        for arm in arms:
            model = _model(arm)
            if model is not None and isinstance(part, str) and part in _keys(model):
                return model, False
        return (arms[0], False) if len(arms) == 1 else (None, True)
    if (model := _model(annotation)) is not None:
        return (_keys(model).get(part) if isinstance(part, str) else None), True
    if origin in (dict, Mapping):
        return get_args(annotation)[1], True
    if origin in (list, tuple, Sequence):
        return get_args(annotation)[0], True
    return None, True


def meant_key(model: type[BaseModel], location: Sequence[str | int]) -> str | None:
    """The key of the model at ``location`` (its last part being the unknown key) that
    the unknown key is closest to, or None when none is close."""
    annotation: Any = model
    path = list(location[:-1])
    for _ in range(4 * len(path) + 8):  # each part is used up within a few steps
        if not path:
            break
        annotation, used = _step(annotation, path[0])
        if annotation is None:
            return None
        if used:
            path.pop(0)
    while get_origin(annotation) in (Annotated, Union, UnionType):
        annotation, _ = _step(annotation, "")
    found = _model(annotation)
    unknown = location[-1] if location else None
    if found is None or not isinstance(unknown, str):
        return None
    close = difflib.get_close_matches(unknown, list(_keys(found)), n=1)
    return close[0] if close else None


def home_of(model: type[BaseModel], location: Sequence[str | int]) -> str | None:
    """Where an unknown key belongs when it is a key of another section of ``model``
    (``plan_seconds`` under ``dispatch`` is ``daemon.plan_seconds``; ``per_day`` at the
    top is ``caps.per_day``), or None. One level deep: the sections of the file."""
    unknown = location[-1] if location else None
    if not isinstance(unknown, str):
        return None
    if len(location) > 1 and unknown in _keys(model):
        return unknown
    homes = []
    for name, annotation in _keys(model).items():
        while get_origin(annotation) in (Annotated, Union, UnionType):
            annotation, _ = _step(annotation, "")
        section = _model(annotation)
        if section is not None and name != location[0] and unknown in _keys(section):
            homes.append(f"{name}.{unknown}")
    return homes[0] if len(homes) == 1 else None


def plain_message(item: Mapping[str, Any]) -> str:
    """A pydantic error's message in the user's words: without its "Value error, "
    prefix, and a section that is no mapping told so, not as pydantic's "valid
    dictionary or instance of CapsConfig" (a Python class the user never wrote)."""
    if item["type"] in ("model_type", "dict_type"):
        return f"expected keys and values (key: value), not {_described(item.get('input'))}"
    if item["type"] == "string_type":  # a truth value is told apart by yamlsource
        return f"expected text, not {_described(item.get('input'))}"
    if item["type"] == "string_pattern_mismatch" and (
        form := _FORMS.get(str(item.get("ctx", {}).get("pattern")))
    ):
        return f"{item.get('input')!r} is not {form}"
    return str(item["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _described(value: object) -> str:
    if value is None or isinstance(value, bool):
        return str(value).lower() if value is not None else "null"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return "a list" if isinstance(value, list) else "a value of another kind"


#: The patterns of campaign keys (engine/campaigns/model.py), said in words.
_FORMS = {
    r"^[a-z0-9][a-z0-9_-]{0,30}$": "a variant name: 1 to 31 lower-case letters, digits, "
    "'-' or '_', starting with a letter or digit",
    r"^[A-Z0-9]{1,12}$": "a code prefix: 1 to 12 capital letters or digits",
}
