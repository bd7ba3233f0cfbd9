"""RAPPORT_SMTP_URL or RAPPORT_SMS_URL with a space or a line break around it (an
EnvironmentFile line, a value pasted from a file) is refused saying so, as
RAPPORT_DATABASE_URL is: "smtp://127.0.0.1:2625 " was refused as "its port is not a
number from 1 to 65535", and the SMS URL's newline as a non-printable character."""

from __future__ import annotations

import pytest

from rapport.engine.core.config import load_settings
from rapport.engine.core.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "url"),
    [("RAPPORT_SMTP_URL", "smtp://127.0.0.1:2625"), ("RAPPORT_SMS_URL", "http://127.0.0.1:9/sms")],
)
@pytest.mark.parametrize("pad", ["{} ", "{}\n", " {}"])
def test_a_channel_url_with_a_space_or_line_break_around_it_is_refused_saying_so(
    name: str, url: str, pad: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={name: pad.format(url)})

    assert str(raised.value) == (
        f"{name}: begins or ends with a space or a line break: set it without them"
    )
