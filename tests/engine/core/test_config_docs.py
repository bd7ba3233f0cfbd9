"""docs/configuration.md lists every setting and environment variable, as the code has them.

The keys come from the code, not from a second list: every field of the ``Settings``
model tree, at every depth (a section's fields, the values of a mapping such as
``channels.*``, the items of a list such as ``tiers.levels[]``), must have a row in one
of the page's key tables, and that row's default and bounds must be the code's. A row
for a key the code no longer has fails too. Every ``RAPPORT_*`` variable the code reads
must be in the page's variable tables, and every example block must load as a
config.yaml.

When a test here fails, its message names exactly the keys or variables to document
(or to remove from the page).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import annotated_types
import pytest
import yaml
from factories import REPO
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.errors import ConfigError

DOC = REPO / "docs" / "configuration.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`([^`]+)`")
#: Every mention of a variable in the product (any form) ...
PRODUCT_VARIABLE = re.compile(r"\bRAPPORT_[A-Z0-9]+(?:_[A-Z0-9]+)*\b")
PRODUCT_FILES = ("engine", "consent", "channels", "migrations", "bench", "scripts")
#: ... and in the tests, only reads of one (tests also make up names to set).
TEST_READ = re.compile(
    r"""environ(?:\.get)?\s*[(\[]\s*["'](RAPPORT_\w+)["']"""
    r"""|["'](RAPPORT_\w+)["']\s+(?:not\s+)?in\s+os\.environ"""
)


@dataclass(frozen=True)
class Key:
    """One setting: its dotted path (``*`` a mapping's key, ``[]`` a list's item)."""

    path: str
    field: FieldInfo
    #: A section (the field's type is a model): documented by a heading, not a row.
    section: bool


def _models(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """The models an annotation holds, with the path step to reach each one."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    if origin is dict:
        return [(".*" + step, model) for step, model in _models(args[1])]
    if origin in (list, tuple):
        return [("[]" + step, model) for step, model in _models(args[0])]
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return [found for arg in args for found in _models(arg)]
    return []


def settings_keys(model: type[BaseModel] = Settings, prefix: str = "") -> Iterator[Key]:
    for name, field in model.model_fields.items():
        path = prefix + name
        held = _models(field.annotation)
        yield Key(path, field, section=[step for step, _ in held] == [""])
        for step, sub in held:
            yield from settings_keys(sub, f"{path}{step}.")


KEYS = list(settings_keys())


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table row (``\\|`` is a pipe inside a cell)."""
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", inner)]


def tables(text: str, first: str) -> list[dict[str, str]]:
    """The rows of every table whose first column is headed ``first``, by column."""
    rows: list[dict[str, str]] = []
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = cells if cells[0] == first else []
        elif header and not set(line) <= set("|-: "):
            rows.append(dict(zip(header, cells, strict=False)))
    return rows


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def key_rows() -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for row in tables(doc_text(), "key"):
        found = CODE.fullmatch(row["key"])
        assert found, f"docs/configuration.md: a key cell is not one `key`: {row['key']!r}"
        assert found[1] not in rows, f"docs/configuration.md: {found[1]} has two rows"
        rows[found[1]] = row
    return rows


def _plain(value: Any) -> Any:
    """A value as YAML would spell it: models as what differs from their defaults,
    times as "HH:MM", paths as text, tuples as lists."""
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(exclude_defaults=True))
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, Path):
        return str(value)
    return value


def _number(value: Any) -> str:
    if isinstance(value, float | Decimal) and value == int(value):
        value = int(value)
    return str(value)


def bounds(field: FieldInfo) -> str:
    """The field's numeric bounds as the page writes them: ``≥ 1, ≤ 64``."""
    signs = {annotated_types.Ge: "≥", annotated_types.Gt: ">", annotated_types.Le: "≤"}
    found = []
    for constraint in field.metadata:
        for kind, sign in signs.items():
            if isinstance(constraint, kind):
                found.append(f"{sign} {_number(getattr(constraint, kind.__name__.lower()))}")
        assert not isinstance(constraint, annotated_types.Lt), "write < in bounds() first"
    return ", ".join(found)


# --------------------------------------------------------------------------- settings


def test_the_model_walk_reaches_every_depth() -> None:
    paths = {key.path for key in KEYS}
    assert {
        "web.max_body_bytes",
        "channels.*.providers[].adapter",
        "caps.channels.*.per_week",
        "quiet_hours.*.countries.*.widen_legal_window",
        "tiers.levels[].min_spend",
        "sms_keywords.stop",
    } <= paths
    assert len(KEYS) > 90


def test_every_setting_is_documented() -> None:
    text, rows = doc_text(), key_rows()
    headings = [line for line in text.splitlines() if line.startswith("#")]
    missing_rows = [key.path for key in KEYS if not key.section and key.path not in rows]
    missing_sections = [
        key.path
        for key in KEYS
        if key.section and not any(f"`{key.path}`" in heading for heading in headings)
    ]
    wanted = []
    if missing_rows:
        wanted.append(
            "add a row '| `KEY` | type | default | bounds | meaning |' for each of: "
            + ", ".join(missing_rows)
        )
    if missing_sections:
        wanted.append(
            "add a section whose heading names `SECTION` for each of: "
            + ", ".join(missing_sections)
        )
    assert wanted == [], (
        "settings of engine/core/config.py missing from docs/configuration.md; " + "; ".join(wanted)
    )


def test_every_documented_key_is_a_setting() -> None:
    paths = {key.path for key in KEYS if not key.section}
    stale = [key for key in key_rows() if key not in paths]
    assert stale == [], (
        "docs/configuration.md documents keys the settings no longer have: " + ", ".join(stale)
    )


@pytest.mark.parametrize("key", [key for key in KEYS if not key.section], ids=lambda k: k.path)
def test_a_documented_default_and_bounds_are_the_codes(key: Key) -> None:
    row = key_rows().get(key.path)
    if row is None:
        pytest.skip("not documented: test_every_setting_is_documented says so")
    assert row["type"] and row["meaning"], f"{key.path}: give its type and meaning"
    if key.field.default is PydanticUndefined and key.field.default_factory is None:
        assert row["default"] == "required", f"{key.path} has no default: write 'required'"
    else:
        written = CODE.match(row["default"])
        assert written, f"{key.path}: the default cell must start with the value in `code`"
        expected = _plain(key.field.get_default(call_default_factory=True))
        assert yaml.safe_load(written[1]) == expected, (
            f"{key.path}: docs/configuration.md gives the default {written[1]}, "
            f"the code {expected!r}"
        )
    shown = "" if row["bounds"] in ("", "-") else row["bounds"]
    assert shown == bounds(key.field), f"{key.path}: bounds are '{bounds(key.field)}'"


def test_every_example_is_a_valid_config_file(tmp_path: Path) -> None:
    examples = [body for info, body in FENCE.findall(doc_text()) if info.strip() == "yaml"]
    assert len(examples) >= 15  # one for each section
    for number, body in enumerate(examples):
        assert body.startswith("# config.yaml\n"), body
        config = tmp_path / f"example-{number}.yaml"
        config.write_text(body, encoding="utf-8")
        try:
            load_settings(config, environ={})
        except ConfigError as exc:
            pytest.fail(f"docs/configuration.md, example {number + 1}:\n{exc}")


# --------------------------------------------------------------------------- environment


def code_variables() -> set[str]:
    found: set[str] = set()
    for folder in PRODUCT_FILES:
        for path in (REPO / folder).rglob("*"):
            if path.suffix in (".py", ".sh", ".yaml", ".toml") and path.is_file():
                found.update(PRODUCT_VARIABLE.findall(path.read_text(encoding="utf-8")))
    found.update(PRODUCT_VARIABLE.findall((REPO / "config.yaml").read_text(encoding="utf-8")))
    for path in (REPO / "tests").rglob("*.py"):
        for match in TEST_READ.finditer(path.read_text(encoding="utf-8")):
            found.add(match[1] or match[2])
    return found


def documented_variables() -> set[str]:
    found = set()
    for row in tables(doc_text(), "variable"):
        found.update(CODE.findall(row["variable"]))
    return found


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    read = code_variables()
    assert {"RAPPORT_DATABASE_URL", "RAPPORT_DEBUG", "RAPPORT_TEST_POSTGRES_URL"} <= read
    missing = sorted(read - documented_variables())
    assert missing == [], (
        "environment variables read by the code but missing from the tables of "
        "docs/configuration.md: " + ", ".join(missing)
    )


def test_every_documented_variable_is_read_by_the_code() -> None:
    read = code_variables()  # once: it reads every product and test file
    stale = sorted(
        name for name in documented_variables() if name.startswith("RAPPORT_") and name not in read
    )
    assert stale == [], "docs/configuration.md lists variables nothing reads: " + ", ".join(stale)


def test_the_docs_point_to_the_reference() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    configuration = operations.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    assert "(docs/configuration.md)" in readme and "(docs/import.md)" in readme
    assert "(configuration.md)" in configuration and "(import.md)" in configuration
