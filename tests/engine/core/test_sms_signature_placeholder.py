"""``sender.sms_signature`` names the brand in every SMS the product writes ('{brand}'
is sender.brand). A misspelt placeholder loaded and was sent as written: with
``zh: 【{brnd}】`` every Chinese text began 【{brnd}】 instead of the brand, the signature
Chinese carriers require."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

from rapport.engine.core.config import load_settings


@pytest.mark.parametrize("signature", ["【{brnd}】", "{brand", "{Brand}", "{ brand }"])
def test_a_signature_with_a_placeholder_other_than_brand_is_refused(
    tmp_path: Path, signature: str
) -> None:
    (problem,) = config_problems(tmp_path, f'sender:\n  sms_signature:\n    zh: "{signature}"\n')
    assert problem.startswith("2: sender.sms_signature: ") and "{brand}" in problem


@pytest.mark.parametrize("signature", ["【{brand}】", "【Rapport】", "{brand} Shop"])
def test_a_signature_naming_the_brand_or_written_out_loads(tmp_path: Path, signature: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f'sender:\n  sms_signature:\n    zh: "{signature}"\n', encoding="utf-8")
    assert load_settings(config, environ={}).sender.sms_signature == {"zh": signature}
