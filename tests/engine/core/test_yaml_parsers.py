"""YAML files are composed by libyaml where PyYAML has it (engine/core/yamlsource.py):
the data and the line of every key are what PyYAML's own parser gives, and a broken
file is reported in PyYAML's words."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from factories import REPO

from rapport.engine.core import yamlsource
from rapport.engine.core.yamlsource import YamlSyntaxError, parse_yaml

SHIPPED = sorted(
    [
        REPO / "config.yaml",
        *(REPO / "campaigns").glob("*.yaml"),
        *(REPO / "engine" / "triggers" / "tones").glob("*.yaml"),
    ]
)


def test_libyaml_is_the_parser_in_use() -> None:
    assert yamlsource._FAST_LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_a_shipped_file_reads_the_same_with_both_parsers(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = yamlsource._compose(text, path.name, yaml.CSafeLoader)
    plain = yamlsource._compose(text, path.name, yaml.SafeLoader)
    assert (fast.data, fast.lines) == (plain.data, plain.lines)


def test_a_syntax_error_is_told_in_pyyamls_words_at_its_line() -> None:
    with pytest.raises(YamlSyntaxError) as raised:
        parse_yaml("topic: offers\n priority: 2: 3\n", "campaigns/x.yaml")
    assert str(raised.value) == (
        "campaigns/x.yaml:2: YAML syntax error: mapping values are not allowed here"
    )


@pytest.mark.parametrize(
    ("value", "why"),
    [("2027-02-30", "day is out of range for month"), ("2027-13-01", "month must be in 1..12")],
)
def test_a_date_that_does_not_exist_is_refused_at_its_line(value: str, why: str) -> None:
    """YAML reads 2027-02-30 as a date and PyYAML's constructor raises a bare
    ValueError: 'rapport campaigns validate' ended in 'unexpected error ... ValueError:
    day is out of range for month' (exit 3) for 'starts_on: 2027-02-30'."""
    with pytest.raises(YamlSyntaxError) as raised:
        parse_yaml(f"name: x\nstarts_on: {value}\n", "campaigns/x.yaml")
    assert str(raised.value) == (
        f"campaigns/x.yaml:2: {value!r} is no date ({why}); write a date that exists as "
        "YYYY-MM-DD, or put text in quotes"
    )
