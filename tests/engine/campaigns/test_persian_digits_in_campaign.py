"""Times and dates in a campaign file or config.yaml may be typed in Persian or
Arabic-Indic digits, as a Persian or Arabic keyboard types them, and mean what the
same text in 0-9 means: the importer and `--date` already read them so, while
`send_window: {start: "۰۹:۰۰"}` was refused with 'write the time as "HH:MM", e.g.
"09:30"' (which it was) and `starts_on: ۲۰۲۷-۰۳-۲۱` with 'Input should be a valid date
or datetime, invalid character in year'.
"""

from __future__ import annotations

from pathlib import Path

from rapport.engine.campaigns.model import Campaign, load_campaign
from rapport.engine.core.config import Settings

HEAD = "name: Nowruz\ntrigger: {type: recurring, cron: '@daily'}\ntopic: offers\nchannels: [sms]\n"


def load(tmp_path: Path, rest: str) -> Campaign:
    path = tmp_path / "nowruz.yaml"
    path.write_text(HEAD + rest, encoding="utf-8")
    return load_campaign(path, Settings(), "campaigns/nowruz.yaml")


def test_a_send_window_and_dates_in_persian_digits_read_as_in_ascii_ones(tmp_path: Path) -> None:
    persian = load(
        tmp_path,
        'send_window: {start: "۰۹:۳۰", end: "۲۰:۰۰"}\nstarts_on: ۲۰۲۷-۰۳-۲۱\nends_on: ۲۰۲۷-۰۴-۰۲\n',
    )
    ascii_ = load(
        tmp_path,
        'send_window: {start: "09:30", end: "20:00"}\nstarts_on: 2027-03-21\nends_on: 2027-04-02\n',
    )
    assert persian.send_window == ascii_.send_window
    assert (persian.starts_on, persian.ends_on) == (ascii_.starts_on, ascii_.ends_on)


def test_quiet_hours_in_arabic_indic_digits_read_as_in_ascii_ones() -> None:
    arabic = Settings(quiet_hours={"sms": {"not_before": "٠٩:٠٠", "not_after": "٢٠:٣٠"}})
    ascii_ = Settings(quiet_hours={"sms": {"not_before": "09:00", "not_after": "20:30"}})
    assert arabic.quiet_hours == ascii_.quiet_hours
