"""A customer's locale written under another code of the same language (ISO 639-3
``pes`` for Iranian Persian, Windows' ``prs`` for Dari, ``iw`` for Hebrew) is stored
under CLDR's code, so the customer reads their own language, not the default."""

from __future__ import annotations

import pytest

from rapport.engine.core.i18n import page_numbering_system, ui_language
from rapport.engine.customers.fields import locale


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("pes", "fa"),
        ("pes_IR", "fa_IR"),
        ("prs_AF", "fa_AF"),
        ("prs", "fa_AF"),
        ("prs-AF", "fa_AF"),
        ("cmn_TW", "zh_TW"),
        ("iw_IL", "he_IL"),
        ("sh_RS", "sr_Latn_RS"),
    ],
)
def test_a_locale_under_another_code_is_stored_under_cldr_s(written: str, stored: str) -> None:
    assert locale(written) == stored


def test_a_dari_reader_imported_as_prs_af_reads_persian_pages_in_persian_digits() -> None:
    stored = locale("prs_AF")
    assert ui_language(stored) == "fa" and page_numbering_system(stored) == "arabext"


@pytest.mark.parametrize(
    ("written", "stored"), [("tl_PH", "tl_PH"), ("tl", "tl"), ("tw_GH", "tw_GH")]
)
def test_a_code_in_use_whose_alias_is_another_language_is_stored_as_written(
    written: str, stored: str
) -> None:
    # tl (Tagalog) was stored as fil_PH since 802f9f8, so an operator's tl/ templates
    # no longer reached those customers, who fell back to the default language.
    assert locale(written) == stored
