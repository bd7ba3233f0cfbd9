"""A control character YAML does not allow (NUL, BEL, ...) is a located problem.

PyYAML's reader refuses them with a ReaderError, which is not a MarkedYAMLError, so
a campaign file holding a NUL (pasted from a spreadsheet, saved by a broken editor)
made 'rapport campaigns validate' fail with 'unexpected error in campaigns validate:
ReaderError' and checked no other file; config.yaml likewise.
"""

from __future__ import annotations

import pytest

from rapport.engine.core.yamlsource import YamlSyntaxError, parse_yaml


@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        ("name: x\0\n", 1, "U+0000"),
        ("name: Sale\ndescription: ring\a\ntopic: offers\n", 2, "U+0007"),
    ],
)
def test_a_control_character_is_refused_at_its_line(text: str, line: int, said: str) -> None:
    with pytest.raises(YamlSyntaxError) as refused:
        parse_yaml(text, "campaigns/sale.yaml")
    assert str(refused.value.problem) == (
        f"campaigns/sale.yaml:{line}: YAML syntax error: {said} is a control character "
        "YAML does not allow: remove it"
    )
