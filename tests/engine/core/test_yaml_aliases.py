"""YAML anchors and aliases are bounded: a "billion laughs" file is refused at its line.

Aliases of aliases expand exponentially; each file Rapport reads (config.yaml, campaign
files) is refused once aliases add more than 50,000 repeated values, before anything
else walks the data. The limit is pinned here with its literal value, at the edge.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from factories import REPO, run_rapport

from rapport.engine.core.config import load_settings
from rapport.engine.core.errors import ConfigError
from rapport.engine.core.yamlsource import YamlSyntaxError, load_yaml, parse_yaml

#: Nine levels of ten aliases each: 10**9 values once expanded.
LAUGHS = "\n".join(
    ['lol0: &lol0 "lol"']
    + [f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 10)}]" for n in range(1, 10)]
)


def copies(aliases: int) -> str:
    """An anchored list of 99 numbers and ``aliases`` aliases of it: each alias repeats
    100 values (the list and its items)."""
    numbers = ", ".join(str(n) for n in range(99))
    return f"base: &base [{numbers}]\ncopies:\n" + "".join("  - *base\n" for _ in range(aliases))


def test_aliases_repeating_exactly_50000_values_load() -> None:
    document = parse_yaml(copies(500), "edge.yaml")
    assert len(document.data["copies"]) == 500


def test_one_alias_more_is_refused_at_its_line() -> None:
    with pytest.raises(YamlSyntaxError) as refused:
        parse_yaml(copies(501), "edge.yaml")
    assert refused.value.problem.line == 1  # the anchored list the last alias repeats
    assert "beyond 50,000 repeated values" in str(refused.value)


def test_a_billion_laughs_config_is_refused_with_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(LAUGHS + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, environ={})
    message = str(refused.value)
    assert f"{config}:" in message and "anchors and aliases expand this document" in message


def test_a_billion_laughs_campaign_file_fails_validation_naming_it(tmp_path: Path) -> None:
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    (tmp_path / "campaigns" / "laughs.yaml").write_text(LAUGHS + "\n", encoding="utf-8")

    ran = run_rapport("campaigns", "validate", cwd=tmp_path)

    said = ran.stdout + ran.stderr
    assert ran.returncode != 0
    assert "laughs.yaml:" in said and "anchors and aliases" in said


def test_a_billion_laughs_scenario_file_is_refused_like_any_other(tmp_path: Path) -> None:
    # The scenario files the planning tests run are read with the same loader.
    path = tmp_path / "bomb.yaml"
    path.write_text(LAUGHS, encoding="utf-8")
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml(path)
    assert caught.value.problem.file == str(path)
    assert caught.value.problem.line is not None


def test_a_billion_laughs_in_a_key_is_refused_at_its_line() -> None:
    # A list as a key was built as a Python object and then written out with str():
    # the aliases inside it were never counted (60 s and 1.1 GB, still growing).
    levels = ["&k0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"&k{n} [{', '.join([f'*k{n - 1}'] * 10)}]" for n in range(1, 9)
    ]
    text = "name: bomb\n? [" + ", ".join(levels) + "]\n: 1\n"
    with pytest.raises(YamlSyntaxError) as refused:
        parse_yaml(text, "key.yaml")
    assert refused.value.problem.line == 2
    assert "a key must be a single value" in str(refused.value)


def test_a_list_or_mapping_as_a_key_is_refused_naming_its_line() -> None:
    for key in ("[a, b]", "{a: 1}"):
        with pytest.raises(YamlSyntaxError) as refused:
            parse_yaml(f"name: x\n? {key}\n: 1\n", "key.yaml")
        assert str(refused.value) == (
            "key.yaml:2: a key must be a single value (a name or a number), not a list or a mapping"
        )


def merges_of_merges(levels: int) -> str:
    """A mapping merging ``levels`` mappings, each merging ten copies of the one before."""
    keys = ", ".join(f"k{n}: 1" for n in range(10))
    merged = [f"&m0 {{{keys}}}"] + [
        f"&m{n} {{<<: [{', '.join([f'*m{n - 1}'] * 10)}]}}" for n in range(1, levels + 1)
    ]
    return "name: x\nx: {<<: [" + ", ".join(merged) + "]}\n"


def flatten_keeping_every_copy(self: yaml.SafeLoader, node: yaml.MappingNode) -> None:
    """How PyYAML 6.0.0 to 6.0.3 flatten merge keys: every merged copy is kept."""
    merge: list[tuple[yaml.Node, yaml.Node]] = []
    own = []
    for key_node, value_node in node.value:
        if key_node.tag != "tag:yaml.org,2002:merge":
            own.append((key_node, value_node))
            continue
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            flatten_keeping_every_copy(self, source)
            merge.extend(source.value)
    node.value = merge + own


def test_merges_of_merges_keep_each_key_once_whatever_pyyaml_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Under PyYAML before 6.0.4, seven levels took 2.6 GB and 30 s to flatten.
    for loader in ("SafeLoader", "CSafeLoader"):
        if hasattr(yaml, loader):
            monkeypatch.setattr(
                getattr(yaml, loader), "flatten_mapping", flatten_keeping_every_copy
            )
    document = parse_yaml(merges_of_merges(5), "merges.yaml")
    assert document.data["x"] == {f"k{n}": 1 for n in range(10)}


def test_a_key_written_beside_a_merge_overrides_the_merged_one() -> None:
    text = "d: &d {a: 1, b: 2}\ne: &e {b: 3, c: 4}\nx:\n  <<: [*d, *e]\n  a: 5\n"
    assert parse_yaml(text, "merge.yaml").data["x"] == {"a": 5, "b": 2, "c": 4}


def test_merging_one_large_mapping_many_times_counts_against_the_bound() -> None:
    keys = ", ".join(f"k{n}: 1" for n in range(1000))
    text = f"d: &d {{{keys}}}\nx: {{<<: [{', '.join(['*d'] * 100)}]}}\n"
    with pytest.raises(YamlSyntaxError) as refused:
        parse_yaml(text, "merge.yaml")
    assert "beyond 50,000 repeated values" in str(refused.value)
    assert refused.value.problem.line == 1


@pytest.mark.parametrize("depth", [2000, 100000])
def test_a_document_nesting_hundreds_of_levels_is_refused_naming_the_file(depth: int) -> None:
    # Python's recursion limit (or libyaml's 1,000 levels, then PyYAML's parser) was an
    # "unexpected error" out of every command.
    text = "name: x\ntrigger: " + "[\n" * depth + "]" * depth + "\n"
    with pytest.raises(YamlSyntaxError) as refused:
        parse_yaml(text, "deep.yaml")
    assert refused.value.problem.file == "deep.yaml"
    assert refused.value.problem.line is not None and refused.value.problem.line > 2
    assert "nests too deeply" in str(refused.value)
