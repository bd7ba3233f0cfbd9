"""A send window that opens at local midnight, for customers east of UTC: a birthday on
26 November begins in Tehran (+03:30) at 20:30 UTC and in Shanghai (+08:00) at 16:00 UTC
on the 25th, so the window of that day opens on the previous UTC day, and a run planned
then sends at once where the local day has begun and waits where it has not."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rapport.engine.core.config import Settings
from rapport.engine.planning.planner import Reason, decide
from tests.engine.planning.test_planner import campaign, customer, granted

SETTINGS = Settings()
DAY = date(2026, 11, 26)
MIDNIGHT = campaign(send_window={"start": "00:00", "end": "01:00"})
EMAIL = granted(("email", "birthday"))
TEHRAN = customer()
SHANGHAI = customer(timezone="Asia/Shanghai", locale="zh_CN", country="CN")


def test_a_midnight_window_opens_on_the_previous_utc_day_east_of_utc() -> None:
    before = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    tehran = decide(TEHRAN, MIDNIGHT, EMAIL, DAY, before, SETTINGS)
    shanghai = decide(SHANGHAI, MIDNIGHT, EMAIL, DAY, before, SETTINGS)

    assert (tehran.send_at, tehran.expires_at) == (
        datetime(2026, 11, 25, 20, 30, tzinfo=UTC),
        datetime(2026, 11, 25, 21, 30, tzinfo=UTC),
    )
    assert (shanghai.send_at, shanghai.expires_at) == (
        datetime(2026, 11, 25, 16, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 17, 0, tzinfo=UTC),
    )


def test_between_the_two_midnights_shanghai_sends_at_once_and_tehran_waits() -> None:
    now = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)  # 00:30 in Shanghai, 20:00 in Tehran

    tehran = decide(TEHRAN, MIDNIGHT, EMAIL, DAY, now, SETTINGS)
    shanghai = decide(SHANGHAI, MIDNIGHT, EMAIL, DAY, now, SETTINGS)

    assert tehran.send_at == datetime(2026, 11, 25, 20, 30, tzinfo=UTC)
    assert shanghai.send_at == now


def test_after_the_local_midnight_window_closed_nothing_is_sent_late() -> None:
    now = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 01:30 in Shanghai, 21:00 in Tehran

    assert decide(SHANGHAI, MIDNIGHT, EMAIL, DAY, now, SETTINGS).reason is Reason.WINDOW_PASSED
    assert decide(TEHRAN, MIDNIGHT, EMAIL, DAY, now, SETTINGS).reason is Reason.SELECTED
