"""YAML loading that remembers where every value came from.

Marketers and operators edit YAML by hand; an error must point at the line they
wrote, not at a Python path. We compose the node tree with PyYAML's *safe* loader
(never a loader that can build objects), turn it into plain data, and keep a map
from each key path to its line so pydantic errors can be reported as FILE:LINE.

The tree is composed by libyaml's parser where PyYAML has it (fifteen times faster;
every command reads the configuration and each campaign file at start). A document
libyaml refuses is read again by PyYAML's own parser, so what a user is told about a
broken file, in words and line, is what it has always been.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from rapport.engine.core.errors import Problem
from rapport.engine.core.keyhints import home_of, meant_key, plain_message

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass
class YamlDocument:
    """Plain data from one YAML file plus the line of each key path (1-based)."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    #: The key paths written with nothing after the colon (or a bare ``-`` list item),
    #: which YAML reads as null: see :func:`empty_problems`.
    empty: list[Path_] = field(default_factory=list)

    def locate(self, path: Iterable[str | int]) -> tuple[Path_, int]:
        """The part of ``path`` that exists in the file and the line it is on.

        Validators add segments the file does not have (a union's tag, a function
        name); those are skipped so the message points at what the user wrote.
        """
        kept: Path_ = ()
        for part in path:
            if (*kept, part) in self.lines:
                kept = (*kept, part)
        return kept, self.lines.get(kept, self.lines.get((), 1))

    def line_of(self, path: Iterable[str | int]) -> int:
        return self.locate(path)[1]


class YamlSyntaxError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


#: Values that aliases may add to a document, counting every repeated visit of an
#: anchored node: a real file repeats a block of defaults a few dozen times; a "billion
#: laughs" document (aliases of aliases) would expand to billions of values and
#: gigabytes before any other check saw it.
MAX_ALIASED_VALUES = 50_000


class _Budget:
    """How many values aliases have added so far while turning the nodes into data."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.seen: set[int] = set()
        self.repeated = 0

    def visit(self, node: yaml.Node) -> None:
        if id(node) not in self.seen:
            self.seen.add(id(node))
            return
        self.repeat(1, node)

    def repeat(self, count: int, node: yaml.Node) -> None:
        self.repeated += count
        if self.repeated > MAX_ALIASED_VALUES:
            name = self.loader.name if isinstance(self.loader.name, str) else ""
            raise YamlSyntaxError(
                Problem(
                    name,
                    node.start_mark.line + 1,
                    f"anchors and aliases expand this document beyond {MAX_ALIASED_VALUES:,} "
                    "repeated values; write the values out or use fewer aliases",
                )
            )


_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"


def _merge(node: yaml.MappingNode, loader: yaml.SafeLoader, budget: _Budget) -> None:
    """Resolve the merge keys (``<<: *defaults``) of a mapping as YAML says: a key
    written in the mapping wins over a merged one, the first merged mapping over the
    later ones, and each key is kept once.

    PyYAML's own ``flatten_mapping`` kept every merged copy before 6.0.4, so merges of
    merges multiplied them (seven levels of ten: 2.6 GB and 30 s before any count here),
    and from 6.0.4 still keeps a key written again to override a merged one, which then
    read as a duplicate. Every merged pair counts as a value the aliases repeat.
    """
    own: list[tuple[yaml.Node, yaml.Node]] = []
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE:
            if key_node.tag == _VALUE:  # a plain "=" key: text, as PyYAML reads it
                key_node.tag = "tag:yaml.org,2002:str"
            own.append((key_node, value_node))
            continue
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise YamlSyntaxError(
                    Problem(
                        loader.name if isinstance(loader.name, str) else "",
                        source.start_mark.line + 1,
                        "a merge key (<<) takes a mapping or a list of mappings",
                    )
                )
            _merge(source, loader, budget)  # once merged, a mapping holds no merge key
            budget.repeat(len(source.value), source)
            merged.extend(source.value)
    if not merged:
        return
    seen = {_key_of(key) for key, _ in own}
    kept = []
    for pair in merged:
        if (key := _key_of(pair[0])) not in seen:
            seen.add(key)
            kept.append(pair)
    node.value = kept + own


def _key_of(node: yaml.Node) -> object:
    return (node.tag, node.value) if isinstance(node, yaml.ScalarNode) else id(node)


_NULL = "tag:yaml.org,2002:null"


def _to_data(
    node: yaml.Node,
    path: Path_,
    lines: dict[Path_, int],
    loader: yaml.SafeLoader,
    budget: _Budget,
    empty: list[Path_],
) -> Any:
    budget.visit(node)
    lines.setdefault(path, node.start_mark.line + 1)
    if path and isinstance(node, yaml.ScalarNode) and node.tag == _NULL and node.value == "":
        empty.append(path)
    if isinstance(node, yaml.MappingNode):
        _merge(node, loader, budget)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                # Built whole and written out with str(), a list or mapping key would
                # expand its aliases past every count here (a billion laughs in a key).
                raise YamlSyntaxError(
                    Problem(
                        loader.name if isinstance(loader.name, str) else "",
                        key_node.start_mark.line + 1,
                        "a key must be a single value (a name or a number), "
                        "not a list or a mapping",
                    )
                )
            key = _construct(key_node, loader)
            if not isinstance(key, str | int | bool | float) and key is not None:
                key = str(key)
            child = (*path, key)
            if key in result:
                first = lines[child]
                raise YamlSyntaxError(
                    Problem(
                        loader.name if isinstance(loader.name, str) else "",
                        key_node.start_mark.line + 1,
                        f"key {key!r} appears twice (first on line {first}); keep one",
                    )
                )
            lines[child] = key_node.start_mark.line + 1
            result[key] = _to_data(value_node, child, lines, loader, budget, empty)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_data(item, (*path, index), lines, loader, budget, empty)
            for index, item in enumerate(node.value)
        ]
    if node.tag == "tag:yaml.org,2002:int" and _OCTAL.fullmatch(str(node.value)):
        raise YamlSyntaxError(  # no one writing 030 means 24
            Problem(
                loader.name if isinstance(loader.name, str) else "",
                node.start_mark.line + 1,
                f"{node.value!r} is read by YAML as the octal number "
                f"{loader.construct_object(node)}: write the number without its leading "
                "zero, or in quotes if it is text",
                ".".join(str(part) for part in path) or None,
            )
        )
    return _construct(node, loader)


#: What YAML 1.1 reads as an octal number: ``030`` is 24 (retention.outbox_days: 030).
_OCTAL = re.compile(r"[-+]?0[0-7_]+")


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    """A scalar's value. YAML reads ``2027-02-30`` as a date, and PyYAML's constructor
    then raises a bare ValueError, which no caller takes for the user's mistake."""
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:
        if node.tag != "tag:yaml.org,2002:timestamp":
            raise
        raise YamlSyntaxError(
            Problem(
                loader.name if isinstance(loader.name, str) else "",
                node.start_mark.line + 1,
                f"{node.value!r} is no date ({exc}); write a date that exists as "
                "YYYY-MM-DD, or put text in quotes",
            )
        ) from None


#: The safe loader on libyaml's parser, when PyYAML was built with libyaml.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse YAML text safely; a syntax error becomes a located :class:`YamlSyntaxError`."""
    if _FAST_LOADER is not None:
        try:
            return _compose(text, file, _FAST_LOADER)
        except yaml.YAMLError:
            pass  # told in PyYAML's words, below
    try:
        return _compose(text, file, yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:  # not a MarkedYAMLError: no mark, a position
        where = text.count("\n", 0, exc.position) + 1
        said = f"U+{exc.character:04X}" if isinstance(exc.character, int) else "a character"
        message = f"YAML syntax error: {said} is a control character YAML does not allow"
        raise YamlSyntaxError(Problem(file, where, f"{message}: remove it")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = exc.problem or str(exc)
        raise YamlSyntaxError(Problem(file, line, f"YAML syntax error: {message}")) from None


def _compose(text: str, file: str, loader_class: Any) -> YamlDocument:
    loader = loader_class(text)
    loader.name = file
    try:
        node = loader.get_single_node()
        lines: dict[Path_, int] = {}
        empty: list[Path_] = []
        budget = _Budget(loader)
        data = None if node is None else _to_data(node, (), lines, loader, budget, empty)
    except RecursionError:
        line = getattr(loader, "line", None)  # where PyYAML's reader had got to
        raise YamlSyntaxError(
            Problem(
                file,
                None if line is None else line + 1,
                "nests too deeply; a configuration or campaign needs a few levels, not hundreds",
            )
        ) from None
    finally:
        loader.dispose()
    return YamlDocument(file=file, data=data, lines=lines, empty=empty)


#: The largest configuration or campaign file read, in bytes: the shipped config.yaml
#: is 7 KB and a campaign 1 KB; a 200 MB file took 0.9 GB and seconds to load, and
#: ``--config /dev/zero`` every byte of memory there was.
MAX_YAML_BYTES = 1024 * 1024


def load_yaml(path: Path, display: str | None = None) -> YamlDocument:
    """Read and parse a YAML file; ``display`` is the name shown in messages."""
    name = display or str(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_YAML_BYTES + 1)
    except OSError as exc:  # a folder named x.yaml, a file its user cannot read
        raise YamlSyntaxError(Problem(name, None, f"cannot be read: {exc.strerror}")) from None
    if len(raw) > MAX_YAML_BYTES:
        raise YamlSyntaxError(
            Problem(
                name,
                None,
                f"larger than {MAX_YAML_BYTES // 1024 // 1024} MiB, which no configuration or "
                "campaign file needs: is it the right file?",
            )
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1  # where the first bad byte is
        said = f"not UTF-8 text ({exc.reason}): save the file as UTF-8"
        raise YamlSyntaxError(Problem(name, line, said)) from None
    return parse_yaml(text, name)


def validation_problems(
    doc: YamlDocument, error: ValidationError, model: type[BaseModel] | None = None
) -> list[Problem]:
    """Turn pydantic's errors into FILE:LINE problems, one per error; an unknown key
    names the key of ``model`` it looks meant to be (:mod:`rapport.engine.core.keyhints`)."""
    problems = []
    for item in error.errors():
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            problems.append(_tag_problem(doc, item))
            continue
        kept, line = doc.locate(item["loc"])
        if item["type"] in ("extra_forbidden", "missing") and item["loc"]:
            # The offending key itself is not in ``kept`` when it is missing.
            last = item["loc"][-1]
            kept = (*kept, last) if kept[-1:] != (last,) else kept
        dotted = ".".join(str(part) for part in kept) or None
        message = plain_message(item)
        if isinstance(item.get("input"), TruthValue):
            message = "expected a number, not true or false"
        elif isinstance(item.get("input"), NotATruthValue):
            message = (
                f"expected true or false, not {item['input'].describe()}: write true or "
                "false, without quotes"
            )
        elif item["type"] == "string_type" and type(item.get("input")) is bool:
            # The Norway problem: `countries: [NO]` is [false] to YAML 1.1.
            message = (
                f"expected text, not {str(item['input']).lower()}: YAML reads an unquoted "
                "yes, no, on or off as true or false; write the value in quotes "
                '(e.g. "NO" for Norway)'
            )
        elif item["type"] == "extra_forbidden":
            meant = meant_key(model, item["loc"]) if model is not None else None
            message = "unknown key" + (f"; did you mean {meant!r}?" if meant else "")
            if model is not None and (home := home_of(model, item["loc"])):  # misplaced
                where = f"of {home.split('.')[0]}" if "." in home else "of the top level"
                message = f"unknown key here; it is a key {where}: write it as {home}"
        elif item["type"] == "missing":
            message = "required key is missing"
        problems.append(Problem(doc.file, line, message, dotted))
    return problems


def _tag_problem(doc: YamlDocument, item: Any) -> Problem:
    """A tagged union's key (a trigger's ``type``) missing or naming no variant, at
    the key's line in the words of any other key: pydantic's "Unable to extract tag
    using discriminator" pointed at the mapping and named no key."""
    key = str(item["ctx"]["discriminator"]).strip("'")
    given = item["input"] if isinstance(item.get("input"), dict) else {}
    kept, line = doc.locate((*item["loc"], key))
    dotted = _dotted(kept if kept[-1:] == (key,) else (*kept, key))
    if item["type"] == "union_tag_invalid":
        tags = str(item["ctx"]["expected_tags"])
        value = given.get(key)
        close = get_close_matches(str(value), re.findall(r"'([^']*)'", tags), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ";"
        return Problem(
            doc.file, line, f"{value!r} is not a known {key}{hint} one of {tags}", dotted
        )
    message = "required key is missing"
    written = [name for name in given if isinstance(name, str) and get_close_matches(name, [key])]
    if written and (*kept, written[0]) in doc.lines:
        at = doc.lines[(*kept, written[0])]
        message += f" (is {written[0]!r} on line {at} meant to be it?)"
    return Problem(doc.file, line, message, dotted)


EMPTY_VALUE = "empty value: write the value, or null for no limit (where the key allows null)"


def empty_problems(doc: YamlDocument, problems: Iterable[Problem] = ()) -> list[Problem]:
    """A problem at each key written with nothing after its colon, then ``problems``
    without those the empty values themselves caused (see :func:`caused_by_empty`).

    YAML reads ``per_day:`` as null, and null says "no limit" for a cap: a value
    forgotten, or lost in an edit, would silently lift the limit. Only a written
    ``null`` (or ``~``) says so; an empty value is refused wherever it stands.
    """
    found = [Problem(doc.file, doc.lines[path], EMPTY_VALUE, _dotted(path)) for path in doc.empty]
    return found + [p for p in problems if not caused_by_empty(doc, p)]


def caused_by_empty(doc: YamlDocument, problem: Problem) -> bool:
    """Whether ``problem`` is at an empty value or at a key holding one (a union's or a
    section's complaint about it), which :func:`empty_problems` reports in its words."""
    if problem.field is None:
        return False
    return any(
        problem.field == _dotted(path[:n]) for path in doc.empty for n in range(1, len(path) + 1)
    )


def _dotted(path: Path_) -> str:
    return ".".join(str(part) for part in path)


def validate_document(doc: YamlDocument, model: type[M]) -> tuple[M | None, list[Problem]]:
    """Validate a document against a pydantic model; never raises for user mistakes."""
    if not isinstance(doc.data, dict):
        return None, [Problem(doc.file, doc.line_of(()), "expected a mapping of keys to values")]
    try:
        parsed = model.model_validate(doc.data)
    except ValidationError as exc:
        return None, empty_problems(doc, validation_problems(doc, exc, model))
    problems = empty_problems(doc)
    return (None, problems) if problems else (parsed, [])


class TruthValue(str):
    """A YAML true or false given where only a number fits (see :class:`Strict`)."""


def _number_only(annotation: Any) -> bool:
    """Whether a field takes an int or a float and never a bool (``int | None`` too)."""
    accepted = set(get_args(annotation)) if get_origin(annotation) in _UNIONS else {annotation}
    return bool(accepted & {int, float}) and bool not in accepted


_UNIONS = (Union, UnionType)


class Strict(BaseModel):
    """The base of every model read from YAML (config, campaigns, triggers, audiences).

    An unknown key is an error, never ignored: a typo must not silently drop a limit.
    Frozen, so a loaded configuration cannot be changed behind the loader's back. A
    number is finite: YAML's ``.inf`` passes any lower bound ("> 0") and no timer or
    rate can hold it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_truth_value_for_a_number(cls, data: Any) -> Any:
        """YAML reads ``true``, ``yes`` and ``on`` as true, which pydantic takes as 1 for
        a number: ``max_per_day: on`` must be an error, not a limit of one. Such a value
        is handed on as a :class:`TruthValue`, which no number accepts, so the error
        comes at its key along with every other problem of the document.

        The other way round, pydantic takes the text ``"yes"``, ``"1"`` or ``"on"`` and
        the number 1 as true for a true/false key: ``paused: "no"`` would be a value
        someone quoted by mistake, read as they meant only by luck. Anything but true or
        false there is handed on as a :class:`NotATruthValue`, which no bool accepts."""
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {key: _checked(fields, key, value) for key, value in data.items()}


def _checked(fields: dict[str, Any], key: Any, value: Any) -> Any:
    if not isinstance(key, str) or key not in fields:
        return value
    annotation = fields[key].annotation
    if type(value) is bool:
        return TruthValue(str(value).lower()) if _number_only(annotation) else value
    if value is not None and _bool_only(annotation):
        return NotATruthValue(value)
    return value


class NotATruthValue:
    """A value other than true or false given where only those fit (see :class:`Strict`)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)

    def describe(self) -> str:
        if isinstance(self.value, str):
            return f"the text {self.value!r}"
        if isinstance(self.value, int | float):
            return f"the number {self.value!r}"
        return "a list" if isinstance(self.value, list) else "a mapping or another value"


def _bool_only(annotation: Any) -> bool:
    """Whether a field takes true or false and nothing else (``bool | None`` too)."""
    accepted = set(get_args(annotation)) if get_origin(annotation) in _UNIONS else {annotation}
    return bool in accepted and accepted <= {bool, type(None)}
