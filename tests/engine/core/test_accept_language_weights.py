"""A browser's Accept-Language weights decide the page language (RFC 9110, 12.5.4).

Before a customer is known (the link-request page, a bad link's 404, a refused
form), the browser's header picks the language: the most wanted language a page is
written in, ``q=0`` meaning "not this one".
"""

from __future__ import annotations

import pytest

from rapport.engine.core.i18n import from_accept_language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fa;q=0, en", "en"),
        ("fa-IR;q=0.0, zh-CN", "zh"),
        ("zh-TW;q=0.000", "en"),
    ],
)
def test_a_language_weighted_zero_is_never_chosen(header: str, language: str) -> None:
    assert from_accept_language(header) == language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en;q=0.1, fa", "fa"),
        ("zh-CN;q=0.5, zh-TW;q=0.9", "zh_Hant"),
        ("de, en;q=0.2, fa-AF;q=0.8", "fa"),
    ],
)
def test_the_most_wanted_language_wins_whatever_its_place(header: str, language: str) -> None:
    assert from_accept_language(header) == language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fa, en", "fa"),
        ("zh-HK;q=0.8, fa;q=0.8", "zh_Hant"),
        ("fa;q=oops, en", "fa"),
        ("fa;q=2, en", "fa"),
        ("*;q=0.5, zh-TW", "zh_Hant"),
    ],
)
def test_equal_or_unreadable_weights_keep_the_order_given(header: str, language: str) -> None:
    assert from_accept_language(header) == language


def test_only_the_first_32_tags_of_a_header_are_read() -> None:
    """A browser sends a handful; a header of thousands of made-up tags (16 KiB pass
    the header limit) costs a lookup each, on the event loop, so the rest is ignored."""
    made_up = [f"de-{chr(65 + i % 26)}{chr(65 + i // 26)}" for i in range(32)]
    assert from_accept_language(", ".join([*made_up[:31], "fa"])) == "fa"
    assert from_accept_language(", ".join([*made_up, "fa"])) == "en"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("prs-AF", "fa"),  # Dari as Windows names it
        ("prs", "fa"),
        ("pes-IR,en;q=0.5", "fa"),  # Iranian Persian's ISO 639-3 code
        ("cmn-Hant-TW", "zh_Hant"),  # Mandarin
        ("cmn-CN", "zh"),
    ],
)
def test_a_language_under_another_code_of_cldr_gets_its_pages(header: str, language: str) -> None:
    assert from_accept_language(header) == language
