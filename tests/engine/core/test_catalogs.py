"""Every product string is translated in every shipped catalog (acceptance 5).

The strings are extracted from the source exactly as ``pybabel extract -F babel.cfg``
extracts them (same mapping file, same extractors), so a string added to a page,
an e-mail or an SMS reply fails this test until every shipped language has it:
missing, empty and fuzzy translations all count as untranslated, since gettext
shows the English for each. Placeholders (``%(name)s``, ``{brand}``) must match the
source too, or the translated page or SMS would crash or lose the customer's name.
"""

from __future__ import annotations

import io
import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from factories import REPO

from rapport.engine.core.i18n import (
    DOMAIN,
    LOCALES_DIR,
    SOURCE_LANGUAGE,
    UI_LANGUAGES,
    shipped_languages,
    translations,
)

_PERCENT = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def extract_product_strings() -> Catalog:
    """The product's strings, extracted with Babel as configured in babel.cfg."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    catalog = Catalog(locale=SOURCE_LANGUAGE, domain=DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(REPO), method_map, options_map
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalog(path: Path, language: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def placeholders(text: str, message: Message) -> set[str]:
    """The named placeholders of a string, by the format its source message uses."""
    found = {f"%({name})s" for name in _PERCENT.findall(text)}
    if "python-brace-format" in message.flags:
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(text)]
        except ValueError:
            return {"<unbalanced braces>"}
        found |= {f"{{{field}}}" for field in fields if field is not None}
    return found


def catalog_problems(source: Catalog, translated: Catalog, language: str) -> list[str]:
    """Why ``translated`` would show a customer English or break, one line per string."""
    problems = []
    for message in source:
        if not message.id:
            continue  # the header
        entry = translated.get(message.id, message.context)
        label = f"{language}: {message.id!r}"
        if entry is None:
            problems.append(f"{label}: missing from the catalog")
        elif not entry.string:
            problems.append(f"{label}: not translated")
        elif entry.fuzzy:
            problems.append(f"{label}: fuzzy (review it and remove the fuzzy flag)")
        else:
            wanted = placeholders(str(message.id), message)
            got = placeholders(str(entry.string), message)
            if wanted != got:
                problems.append(
                    f"{label}: placeholders {sorted(got)} do not match {sorted(wanted)}"
                )
    return problems


@pytest.fixture(scope="module")
def product_strings() -> Catalog:
    catalog = extract_product_strings()
    assert len(catalog) > 40  # the extraction found the pages, e-mails and SMS replies
    return catalog


def test_every_product_string_is_found_where_the_customer_sees_it(
    product_strings: Catalog,
) -> None:
    ids = {message.id for message in product_strings}
    assert "Your communication preferences" in ids  # web page (Jinja)
    assert "Please confirm your subscription" in ids  # e-mail (Jinja)
    assert "Reply STOP to opt out" in ids  # SMS hint (Python, gettext_noop as _)
    sources = {path for message in product_strings for path, _ in message.locations}
    assert "engine/web/sms_inbound.py" in sources  # SMS keyword replies (N_)
    brace = product_strings.get(
        "{brand}: Questions? Contact {contact}. Msg & data rates may apply. Reply STOP to opt out."
    )
    assert brace is not None and "python-brace-format" in brace.flags


def test_the_template_lists_exactly_the_product_strings(product_strings: Catalog) -> None:
    """messages.pot is what translators and ``pybabel update`` start from: keep it current."""
    template = read_catalog(LOCALES_DIR / "messages.pot", SOURCE_LANGUAGE)
    extracted = {m.id for m in product_strings if m.id}
    listed = {m.id for m in template if m.id}
    assert sorted(extracted - listed) == [], "run pybabel extract (docs/localization.md)"
    assert sorted(listed - extracted) == [], "run pybabel extract (docs/localization.md)"


def test_the_shipped_languages_are_found_from_the_catalogs() -> None:
    assert {"ar", "fa", "zh"} <= set(shipped_languages())
    assert (SOURCE_LANGUAGE, *shipped_languages()) == UI_LANGUAGES


@pytest.mark.parametrize("language", shipped_languages())
def test_every_shipped_language_translates_every_product_string(
    product_strings: Catalog, language: str
) -> None:
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    catalog = read_catalog(path, language)
    assert catalog_problems(product_strings, catalog, language) == []
    # A fuzzy header makes `pybabel compile` skip the whole catalog.
    assert not catalog.fuzzy, "remove '#, fuzzy' above the header entry"
    # The folder names the locale, script included (zh_Hant is Traditional Chinese).
    assert catalog.locale is not None and str(catalog.locale) == language
    # Babel's own checks (python-format placeholders, plural counts) agree, and the
    # catalog compiles as the running product compiles it.
    assert [(m.id, errors) for m, errors in catalog.check()] == []
    write_mo(io.BytesIO(), catalog)
    assert translations(language).gettext("Unsubscribe") != "Unsubscribe"


def test_the_check_fails_on_each_kind_of_untranslated_string(product_strings: Catalog) -> None:
    catalog = read_catalog(LOCALES_DIR / "fa" / "LC_MESSAGES" / f"{DOMAIN}.po", "fa")
    brace = "{brand}: There are no texts to resume for this number. Reply HELP for help."
    del catalog["Unsubscribe"]
    catalog["Topic"].string = ""
    catalog["Newsletter"].flags.add("fuzzy")
    catalog["%(salutation)s,"].string = "%(salutaion)s، سلام"
    catalog[brace].string = str(catalog[brace].string).replace("{brand}", "{برند}")

    problems = catalog_problems(product_strings, catalog, "fa")

    assert sorted(problems) == [
        "fa: '%(salutation)s,': placeholders ['%(salutaion)s'] do not match ['%(salutation)s']",
        "fa: 'Newsletter': fuzzy (review it and remove the fuzzy flag)",
        "fa: 'Topic': not translated",
        "fa: 'Unsubscribe': missing from the catalog",
        f"fa: {brace!r}: placeholders ['{{برند}}'] do not match ['{{brand}}']",
    ]
