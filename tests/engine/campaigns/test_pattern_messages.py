"""A variant's name or a coupon's code_prefix of the wrong form is told in words, not
as the regular expression it fails ("String should match pattern
'^[a-z0-9][a-z0-9_-]{0,30}$'", which a marketer cannot read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError

BASE = "name: Promo\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [email]\n"


@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        (
            "variants:\n  - {name: Warm, templates: promo}\n",
            7,
            "'Warm' is not a variant name: 1 to 31 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit",
        ),
        (
            "offer:\n  discount_percent: 10\n  coupon: true\n  code_prefix: bday-\n",
            9,
            "'bday-' is not a code prefix: 1 to 12 capital letters or digits",
        ),
    ],
)
def test_a_value_of_the_wrong_form_is_told_in_words(
    tmp_path: Path, text: str, line: int, said: str
) -> None:
    (tmp_path / "templates/promo/en").mkdir(parents=True)
    path = tmp_path / "promo.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    with pytest.raises(CampaignError) as raised:
        load_campaign(path, Settings(base_dir=tmp_path))
    found = [(p.line, p.message) for p in raised.value.problems]
    assert (line, said) in found, found
