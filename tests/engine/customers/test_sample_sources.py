"""The sample data names consent sources as the product itself records them, so a
demo's reports do not show the preference page under two spellings."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from rapport.engine.customers.sample import generate


def test_sample_withdrawals_come_from_the_preference_page_as_the_web_app_names_it(
    tmp_path: Path,
) -> None:
    files = generate(tmp_path, date(2026, 11, 26), customers=120, seed=7)
    with files.consent.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    sources = {r["source"] for r in records if r["status"] == "withdrawn"}

    assert sources == {"preference_center"}  # engine/web/preferences.py writes this
