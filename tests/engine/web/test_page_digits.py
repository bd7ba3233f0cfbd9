"""Persian and Arabic pages show only their own digits, and no separator reads as one.

Each page is served (or rendered) for a Persian, an Egyptian Arabic and a plain Arabic
customer and parsed; its visible text (attributes, such as the score buttons' form
values and links, are not visible) may hold only the digits CLDR gives the customer's
locale: Persian ۰-۹ for ``fa_IR``, Arabic-Indic ٠-٩ for ``ar_EG``, Western digits for
plain ``ar``. A middle dot never stands in Arabic-script text, where it reads as a zero.
The postal address is the operator's text and shown as configured: it is the one part
left out of the check.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from babel import Locale
from sqlalchemy import Engine, insert
from starlette.testclient import TestClient

from rapport.consent.links import confirm_link, feedback_link, links_for
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.i18n import DIGITS, page_numbering_system
from rapport.engine.core.models import CUSTOMER
from rapport.engine.rendering.formats import LocaleFormats
from rapport.engine.web.app import create_app
from rapport.engine.web.pages import Pages

SECRET = "test-secret-key-for-page-digits"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
ALL_DIGITS = set("".join(DIGITS.values()))
#: Customer locale -> the digits its pages may show (CLDR's default numbering).
OWN_DIGITS = {"fa_IR": DIGITS["arabext"], "ar_EG": DIGITS["arab"], "ar": DIGITS["latn"]}


class VisibleText(HTMLParser):
    """The text a reader sees: character data outside <style> and <script>, and the
    score labels (the text of each radio button's label) in order."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.scores: list[str] = []
        self._hidden = 0
        self._in_label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._hidden += 1
        if tag == "label":
            self._in_label = True
            self._label: list[str] = []
        if tag == "input" and self._in_label and dict(attrs).get("name") == "score":
            self._score_label = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._hidden -= 1
        if tag == "label" and self._in_label:
            if getattr(self, "_score_label", False):
                self.scores.append("".join(self._label).strip())
            self._in_label = self._score_label = False

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)
            if self._in_label:
                self._label.append(data)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def visible(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser


def assert_own_digits(html: str, locale: str, settings: Settings) -> str:
    text = visible(html).text.replace(settings.sender.postal_address, "")
    foreign = (ALL_DIGITS - set(OWN_DIGITS[locale])) & set(text)
    assert not foreign, (locale, sorted(foreign), text)
    assert "·" not in text, text
    return text


@pytest.fixture
def settings() -> Settings:
    return Settings(secret_key=SECRET)


@pytest.fixture
def client(engine: Engine, settings: Settings) -> TestClient:
    with engine.begin() as connection:
        for customer_id, locale in (("P", "fa_IR"), ("E", "ar_EG"), ("A", "ar")):
            connection.execute(
                insert(CUSTOMER).values(
                    id=customer_id,
                    first_name="سارا",
                    last_name="احمدی",
                    locale=locale,
                    timezone="UTC",
                    email=f"{customer_id.lower()}@example.com",
                    phone="+989121234567",
                    created_at=NOW,
                )
            )
    return TestClient(create_app(settings, engine, clock=lambda: NOW))


def local(url: str, settings: Settings) -> str:
    return url.removeprefix(settings.web.base_url.rstrip("/"))


@pytest.mark.parametrize(("customer", "locale"), [("P", "fa_IR"), ("E", "ar_EG"), ("A", "ar")])
def test_every_served_page_shows_only_the_customer_s_digits(
    client: TestClient, settings: Settings, customer: str, locale: str
) -> None:
    signer = Signer(SECRET)
    links = links_for(customer, "email", settings, signer)
    feedback = local(feedback_link(customer, "feedback:O1", "email", settings, signer), settings)
    pages = [
        client.get(local(links["preferences"], settings)),
        client.get(local(links["unsubscribe"], settings)),
        client.get(local(confirm_link(customer, settings, signer), settings)),
        client.get(feedback),
        client.post(feedback, data={"score": "eleven"}),  # "choose a number from 0 to 10"
    ]
    for page in pages:
        assert page.status_code in (200, 422), page.text
        assert_own_digits(page.text, locale, settings)
    warning = visible(pages[-1].text).text
    zero, ten = OWN_DIGITS[locale][0], OWN_DIGITS[locale][1] + OWN_DIGITS[locale][0]
    assert zero in warning and ten in warning


@pytest.mark.parametrize("locale", ["fa_IR", "ar_EG", "ar"])
def test_the_feedback_buttons_are_numbered_in_the_locale_s_digits(
    client: TestClient, settings: Settings, locale: str
) -> None:
    customer = {"fa_IR": "P", "ar_EG": "E", "ar": "A"}[locale]
    url = feedback_link(customer, "feedback:O1", "email", settings, Signer(SECRET))
    page = visible(client.get(local(url, settings)).text)
    digits = OWN_DIGITS[locale]
    expected = [digits[n] for n in range(10)] + [digits[1] + digits[0]]
    assert page.scores == expected
    if locale == "fa_IR":
        assert page.scores[-1] == "۱۰"
        # The scale's two ends are joined by the Arabic comma, never by "·".
        assert "محتمل نیست\u060c\u200f ۱۰ = " in page.text


@pytest.mark.parametrize("locale", ["fa_IR", "ar_EG", "ar"])
def test_pages_before_a_customer_is_known_show_only_their_own_digits(
    settings: Settings, locale: str
) -> None:
    pages = Pages("Rapport")
    rendered = [
        pages.render("not_found.html", locale, link_request="/preferences"),
        pages.render("link_request.html", locale, sent=False, limited=False),
        pages.render("link_request.html", locale, sent=True, limited=False),
        pages.render("link_request.html", locale, sent=False, limited=True),
        pages.render("feedback.html", locale, done=True, invalid=False),
        *(
            pages.render("error.html", locale, status=status, link_request="/preferences")
            for status in (400, 403, 405, 413, 429)
        ),
    ]
    for html in rendered:
        assert_own_digits(html, locale, settings)


@pytest.mark.parametrize("locale", ["fa_IR", "ar_EG", "ar", "en"])
def test_a_number_on_a_page_is_the_locale_s_own_negative_numbers_included(locale: str) -> None:
    pages = Pages("Rapport")
    env = pages._environment(locale.split("_")[0], page_numbering_system(locale))
    formats = LocaleFormats(Locale.parse(locale))
    for value in (0, 7, 10, -5, 1234567, -1500.5):
        assert env.filters["number"](value) == formats.format_decimal(value)
    if locale == "fa_IR":
        assert env.filters["number"](-5) == "\u200e\u2212۵"


def test_english_pages_keep_their_digits_and_middle_dot(settings: Settings) -> None:
    html = Pages("Rapport").render("feedback.html", "en_GB", done=False, invalid=True)
    page = visible(html)
    assert page.scores == [str(n) for n in range(11)]
    assert "0 = not at all likely · 10 = extremely likely" in page.text
