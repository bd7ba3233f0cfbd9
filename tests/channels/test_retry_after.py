"""Reading Retry-After (RFC 9110 section 10.2.3): seconds or an HTTP date, bounded."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime

import pytest

from rapport.channels import retry_after
from rapport.channels.retry_after import MAX_RETRY_AFTER, parse_retry_after

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_the_examples_in_the_docstring_hold() -> None:
    assert doctest.testmod(retry_after).failed == 0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        ("  30\t", 30.0),
        ("2.5", 2.5),
        ("86400", 86_400.0),
        ("86401", 86_400.0),
        ("99999999999999999999999", 86_400.0),
    ],
)
def test_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("Sun, 01 Mar 2026 12:02:00 GMT", 120.0),  # IMF-fixdate, the preferred form
        ("Sunday, 01-Mar-26 12:00:30 GMT", 30.0),  # obsolete RFC 850 form
        ("Sun Mar  1 12:01:00 2026", 60.0),  # obsolete asctime form, no zone: GMT
        ("Sun, 01 Mar 2026 13:00:00 +0100", 0.0),  # a zone other than GMT, read as given
        ("Sun, 01 Mar 2026 11:59:59 GMT", 0.0),  # a second ago: try now
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("Mon, 02 Mar 2026 12:00:00 GMT", 86_400.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),
    ],
)
def test_http_dates(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "soon", "-1", "+5", "1e3", "inf", "nan", "12 34", "0x10", "Sun, 32 Foo 2026"],
)
def test_what_cannot_be_read_is_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_a_date_is_measured_from_the_current_time_by_default() -> None:
    assert parse_retry_after("Sat, 01 Jan 2000 00:00:00 GMT") == 0.0
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT") == MAX_RETRY_AFTER
