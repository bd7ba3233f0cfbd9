"""Rendering: shipped templates in every locale, and the sandbox's promises.

Error cases build their own template folder in ``tmp_path`` so each test shows the
exact file and line it expects to be blamed; the happy path uses the real
``templates/`` folder, so a broken shipped template fails here first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from factories import REPO
from jinja2 import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rapport.engine.campaigns.model import Campaign, load_campaigns
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError
from rapport.engine.rendering import formats as locale_formats
from rapport.engine.rendering import renderer as rendering
from rapport.engine.rendering.errors import (
    ContextError,
    InvalidOutput,
    OutputTooLarge,
    TemplateMissing,
    TemplateProblemError,
)
from rapport.engine.rendering.formats import LocaleFormats, solar_hijri
from rapport.engine.rendering.locales import full_name, locale_chain
from rapport.engine.rendering.plain import PlainContext, check_plain, plain_context
from rapport.engine.rendering.renderer import Renderer

PERSIAN = re.compile(r"[\u0600-\u06ff]")
HAN = re.compile(r"[\u4e00-\u9fff]")
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(base_dir=REPO)


@pytest.fixture(scope="module")
def campaigns(settings: Settings) -> dict[str, Campaign]:
    loaded, problems = load_campaigns(settings)
    assert problems == []
    return {c.id: c for c in loaded}


@pytest.fixture(scope="module")
def renderer(settings: Settings) -> Renderer:
    return Renderer.from_settings(settings)


def context(**customer: Any) -> dict[str, Any]:
    """A small plain-data context for the hand-written templates of the error tests."""
    person = {"first_name": "Alex", "last_name": "Morgan", "full_name": "Alex Morgan"}
    person.update(customer)
    return {
        "customer": person,
        "offer": {"discount_percent": 15},
        "links": {"preferences": "https://example.com/p", "unsubscribe": "https://example.com/u"},
    }


@pytest.fixture
def make(tmp_path: Path) -> Callable[..., Renderer]:
    """Write ``{"set/locale/part": text}`` under tmp_path/templates and return a renderer."""

    def build(files: dict[str, str], **options: Any) -> Renderer:
        root = tmp_path / "templates"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        root.mkdir(exist_ok=True)
        return Renderer(root, "en", **options)

    return build


def email(locale: str = "en", body: str = "Hi {{ customer.first_name }}") -> dict[str, str]:
    return {
        f"promo/{locale}/email_subject.txt": f"Subject {locale}\n",
        f"promo/{locale}/email.txt": body + f" ({locale})\n",
    }


class TagBalance(HTMLParser):
    """Just enough of an HTML checker to catch an unclosed or stray tag."""

    VOID = frozenset({"meta", "br", "img", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")


# --------------------------------------------------------------------------- shipped templates


@pytest.mark.parametrize("campaign_id", ["birthday", "holiday-offer", "reorder"])
@pytest.mark.parametrize("locale", ["en", "fa", "zh"])
def test_shipped_campaigns_render_in_every_locale(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    campaign_id: str,
    locale: str,
) -> None:
    campaign = campaigns[campaign_id]
    ctx = sample_context(locale, campaign, settings=settings)
    mail = renderer.render(campaign.template_set, "email", locale, ctx)
    sms = renderer.render(campaign.template_set, "sms", locale, ctx)

    assert mail.locale == sms.locale == locale
    assert mail.subject and "\n" not in mail.subject
    assert mail.html is not None and mail.html.startswith("<!DOCTYPE html>")
    for body in (mail.text, mail.html):
        assert ctx["links"]["preferences"] in body
        assert ctx["links"]["unsubscribe"] in body
        assert ctx["sender"]["postal_address"] in body
    checker = TagBalance()
    checker.feed(mail.html)
    assert checker.errors == [] and checker.stack == []

    if locale == "fa":
        assert '<html dir="rtl" lang="fa">' in mail.html
        assert "سارا" in mail.subject and "سارا" in mail.text and "سارا" in mail.html
        for text in (mail.subject, mail.text, sms.text):
            assert PERSIAN.search(text)
        assert sms.text.endswith("لغو: STOP")
        assert len(sms.text) <= 100
    elif locale == "zh":
        assert '<html lang="zh">' in mail.html
        assert "王伟" in mail.subject and "王伟" in mail.text and "王伟" in mail.html
        for text in (mail.subject, mail.text, sms.text):
            assert HAN.search(text)
        assert sms.text.endswith("回复STOP退订")
        assert len(sms.text) <= 70  # one UCS-2 segment
    else:
        assert '<html lang="en">' in mail.html
        assert "Alex" in mail.subject and "Alex" in mail.text
        assert sms.text.endswith("Reply STOP to opt out")
        assert len(sms.text) <= 160 and set(sms.text) <= GSM7  # one GSM-7 segment


def test_shipped_templates_use_the_offer_holiday_and_reorder_data(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    def render(campaign_id: str, locale: str) -> str:
        campaign = campaigns[campaign_id]
        ctx = sample_context(locale, campaign, settings=settings)
        return renderer.render(campaign.template_set, "email", locale, ctx).text

    assert "15% off" in render("birthday", "en")
    assert "۱۵٪ تخفیف" in render("birthday", "fa")  # Persian digits and percent sign
    assert "85折" in render("birthday", "zh")  # 15% off, said the Chinese way
    assert "Happy Thanksgiving Day!" in render("holiday-offer", "en")
    assert "نوروز مبارک" in render("holiday-offer", "fa")
    assert "۱ فروردین ۱۴۰۵" in render("holiday-offer", "fa")  # Solar Hijri date
    assert "春节快乐" in render("holiday-offer", "zh")
    assert "SERUM-30ML on September 6, 2025" in render("reorder", "en")
    assert "۱۵ شهریور ۱۴۰۴" in render("reorder", "fa")
    assert "2025年9月6日" in render("reorder", "zh")


# --------------------------------------------------------------------------- escaping and fallback


def test_autoescape_applies_to_html_only(make: Callable[..., Renderer]) -> None:
    renderer = make(
        {
            "promo/en/email_subject.txt": "For {{ customer.first_name }}",
            "promo/en/email.txt": "Hi {{ customer.first_name }}",
            "promo/en/email.html": "<p>Hi {{ customer.first_name }}</p>",
        }
    )
    evil = "<script>alert(1)</script>"
    message = renderer.render("promo", "email", "en", context(first_name=evil))
    assert message.html == "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert message.text == f"Hi {evil}"
    assert message.subject == f"For {evil}"


def test_locale_falls_back_from_region_to_language_to_default(
    make: Callable[..., Renderer],
) -> None:
    renderer = make({**email("en"), **email("fa"), **email("fa_IR", "Salam")})
    assert renderer.render("promo", "email", "fa_IR", context()).text == "Salam (fa_IR)"
    assert renderer.render("promo", "email", "fa-ir", context()).locale == "fa_IR"
    assert renderer.render("promo", "email", "fa_AF", context()).text == "Hi Alex (fa)"
    assert renderer.render("promo", "email", "de_DE", context()).text == "Hi Alex (en)"
    assert renderer.render("promo", "email", "../../etc", context()).locale == "en"


def test_parts_are_never_mixed_across_locale_folders(make: Callable[..., Renderer]) -> None:
    # fa has a body but no subject: the whole message comes from en, not half of each.
    renderer = make({**email("en"), "promo/fa/email.txt": "Salam"})
    message = renderer.render("promo", "email", "fa", context())
    assert (message.locale, message.subject, message.text) == ("en", "Subject en", "Hi Alex (en)")


def test_locale_chain() -> None:
    assert locale_chain("fa_IR", "en") == ["fa_IR", "fa", "en"]
    assert locale_chain("zh-Hant-TW", "en") == ["zh_Hant_TW", "zh_Hant", "zh", "en"]
    assert locale_chain("en_US", "en") == ["en_US", "en"]
    assert locale_chain("x/../y", "en") == ["en"]


def test_missing_templates_are_a_named_error(make: Callable[..., Renderer]) -> None:
    renderer = make(email("en"))
    with pytest.raises(TemplateMissing) as caught:
        renderer.render("nothing-here", "email", "fa_IR", context())
    assert isinstance(caught.value, CampaignError)
    problem = caught.value.problem
    assert problem.file.endswith("nothing-here/en/email_subject.txt")
    assert "fa_IR, fa, en" in problem.message
    with pytest.raises(TemplateMissing):
        renderer.render("promo", "sms", "en", context())  # e-mail only: no sms.txt


def test_html_part_is_optional(make: Callable[..., Renderer]) -> None:
    message = make(email("en")).render("promo", "email", "en", context())
    assert message.html is None
    sms = make({"promo/en/sms.txt": "Hi {{ customer.first_name }}. STOP to opt out\n"})
    rendered = sms.render("promo", "sms", "en", context())
    assert (rendered.subject, rendered.text, rendered.html) == (
        None,
        "Hi Alex. STOP to opt out",
        None,
    )


# --------------------------------------------------------------------- errors with file and line


def test_syntax_error_names_the_file_and_line(
    make: Callable[..., Renderer], monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = make(
        {
            "promo/en/email_subject.txt": "Hello",
            "promo/en/email.txt": (
                "Hi,\n\n{% if customer.first_name %}\nHi {{ customer.first_name }\n"
            ),
        }
    )
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", context())
    problem = caught.value.problem
    assert problem.file.endswith(str(Path("promo/en/email.txt")))
    assert problem.line == 4
    assert f"email.txt:4: {problem.message}" in str(caught.value)

    # The broken file is not compiled again for every later message.
    env = renderer.environment("en")
    monkeypatch.setattr(env, "compile", lambda *a, **k: pytest.fail("compiled again"))
    with pytest.raises(TemplateProblemError) as again:
        renderer.render("promo", "email", "en", context())
    assert again.value.problem == problem


def test_undefined_variable_names_the_file_and_line(make: Callable[..., Renderer]) -> None:
    renderer = make(
        {
            "promo/en/email_subject.txt": "Hello",
            "promo/en/email.txt": (
                "Hi {{ customer.first_name }},\n\nthanks\n{{ customer.nickname }}\n"
            ),
            "promo/en/email.html": "<p>\n{% if no_such_thing %}x{% endif %}\n</p>",
        }
    )
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", context())
    problem = caught.value.problem
    assert (Path(problem.file).parts[-3:], problem.line) == (("promo", "en", "email.txt"), 4)
    assert "nickname" in problem.message

    with pytest.raises(TemplateProblemError) as caught:
        renderer.render_part("promo", "email.html", "en", context())
    assert (Path(caught.value.problem.file).name, caught.value.problem.line) == ("email.html", 2)
    assert "no_such_thing" in caught.value.problem.message


def test_included_template_errors_point_at_the_included_file(
    make: Callable[..., Renderer],
) -> None:
    renderer = make(
        {
            **email("en", '{% include "shared/footer.txt" %}'),
            "shared/footer.txt": "line one\n{{ sender.nope }}\n",
        }
    )
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", context())
    assert Path(caught.value.problem.file).parts[-2:] == ("shared", "footer.txt")
    assert caught.value.problem.line == 2


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__",
        "customer.__class__",
        "customer.update({'first_name': 'x'})",
        "offer.discount_percent.__class__.__subclasses__()",
    ],
)
def test_sandbox_blocks_unsafe_access(make: Callable[..., Renderer], expression: str) -> None:
    renderer = make(email("en", "Hi\n{{ " + expression + " }}"))
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", context())
    problem = caught.value.problem
    assert problem.line == 2
    assert "not allowed in a template" in problem.message
    assert "unsafe" in problem.message


def test_output_size_is_capped(make: Callable[..., Renderer]) -> None:
    renderer = make(
        email("en", "{% for i in range(100000) %}0123456789{% endfor %}"), max_output_chars=1000
    )
    with pytest.raises(OutputTooLarge) as caught:
        renderer.render("promo", "email", "en", context())
    assert caught.value.problem.file.endswith("email.txt")
    assert "1000 characters" in caught.value.problem.message


@pytest.mark.parametrize("chunks", [1, 63, 64, 65, 200])
def test_the_cap_is_exact_however_many_chunks_a_part_yields(
    make: Callable[..., Renderer], chunks: int
) -> None:
    # Output is taken in batches of chunks; the cap must not depend on where they fall.
    loop = "{% for i in range(n) %}{{ piece }}{% endfor %}{{ tail }}"
    renderer = make(
        {"promo/en/email_subject.txt": "Hi", "promo/en/email.txt": loop}, max_output_chars=1000
    )
    for size in (1000, 1001):
        piece, rest = divmod(size, chunks)
        ctx = {"n": chunks, "piece": "x" * piece, "tail": "y" * rest}
        if size <= 1000:
            text = renderer.render("promo", "email", "en", ctx).text
            assert text == "x" * (piece * chunks) + "y" * rest
        else:
            with pytest.raises(OutputTooLarge):
                renderer.render("promo", "email", "en", ctx)


def test_a_runaway_loop_is_stopped_without_building_its_output(
    make: Callable[..., Renderer],
) -> None:
    # 10**10 chunks if nothing stopped it: the cap holds while the output is produced.
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    renderer = make(email("en", loop), max_output_chars=1000)
    with pytest.raises(OutputTooLarge):
        renderer.render("promo", "email", "en", context())


@pytest.mark.parametrize(
    "name", ["first_name", "missing", "items", "keys", "get", "__class__", "__init__", "mro"]
)
def test_dotted_names_on_dicts_read_as_the_sandbox_reads_them(
    make: Callable[..., Renderer], name: str
) -> None:
    env = make({}).environment("en")
    person = {"first_name": "Alex", "items": "a key named like a method"}
    ours = env.getattr(person, name)
    theirs = ImmutableSandboxedEnvironment.getattr(env, person, name)
    if isinstance(theirs, Undefined):
        assert type(ours) is type(theirs)
        assert ours._undefined_hint == theirs._undefined_hint
        assert ours._undefined_name == theirs._undefined_name
        assert ours._undefined_obj is theirs._undefined_obj
        assert ours._undefined_exception is theirs._undefined_exception
    else:
        assert ours == theirs


def test_template_globals_still_work(make: Callable[..., Renderer]) -> None:
    body = (
        "{% set ns = namespace(total=0) %}{% for i in range(4) %}"
        "{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }} {{ dict(a=1).a }}"
    )
    renderer = make(email("en", body))
    assert renderer.render("promo", "email", "en", context()).text == "6 1 (en)"


@pytest.mark.parametrize("expression", ["'x' * 1000000000", "[0] * 1000000000", "9 ** 999999999"])
def test_huge_values_are_refused_before_they_are_built(
    make: Callable[..., Renderer], expression: str
) -> None:
    renderer = make(email("en", "{{ " + expression + " }}"))
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", context())
    assert caught.value.problem.line == 1


def test_subject_must_be_a_single_line(make: Callable[..., Renderer]) -> None:
    renderer = make(
        {
            "promo/en/email_subject.txt": "  Hello {{ customer.first_name }}  \n\n",
            "promo/en/email.txt": "Body",
        }
    )
    assert renderer.render("promo", "email", "en", context()).subject == "Hello Alex"
    with pytest.raises(InvalidOutput) as caught:
        renderer.render("promo", "email", "en", context(first_name="Alex\r\nBcc: x@example.com"))
    assert caught.value.problem.file.endswith("email_subject.txt")
    assert "single line" in caught.value.problem.message


def test_empty_output_is_refused(make: Callable[..., Renderer]) -> None:
    renderer = make(
        {"promo/en/email_subject.txt": "Hi", "promo/en/email.txt": "{% if false %}x{% endif %}\n"}
    )
    with pytest.raises(InvalidOutput):
        renderer.render("promo", "email", "en", context())


def test_context_must_be_plain_data(make: Callable[..., Renderer]) -> None:
    renderer = make(email("en"))

    class Row:
        first_name = "Alex"

    with pytest.raises(ContextError, match=r"context\.customer: Row"):
        renderer.render("promo", "email", "en", {"customer": Row()})
    with pytest.raises(ContextError, match=r"context\.offer\.gifts\[1\]: builtin_function"):
        renderer.render_part("promo", "email.txt", "en", {"offer": {"gifts": ["a", len]}})
    with pytest.raises(ContextError, match=r"context: keys must be strings, not int"):
        renderer.render("promo", "email", "en", {**context(), 1: "x"})
    check_plain({"a": [1, 2.5, Decimal("3"), date(2025, 1, 1), None, True, ("x",)]})


class Tag(str):
    """A str subclass: plain data, though not of an exact plain type."""


@pytest.mark.parametrize(
    "value",
    [
        {"deep": [[[{"x": [1, (2, 3)]}]]]},
        {"when": datetime(2025, 1, 1, tzinfo=UTC), "flag": False, "tag": Tag("t")},
        {"ordered": __import__("collections").OrderedDict(a=1)},
    ],
)
def test_plain_data_passes_whatever_its_nesting(value: dict[str, Any]) -> None:
    check_plain(value)


def test_a_cyclic_context_is_refused_not_looped_on() -> None:
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(RecursionError):
        check_plain(cycle)


def test_a_plain_context_is_checked_where_it_is_built(
    make: Callable[..., Renderer], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Row:
        first_name = "Alex"

    with pytest.raises(ContextError, match=r"context\.customer\.first_name: Row"):
        plain_context({"customer": {"first_name": Row()}}, [Row()])
    nested = {"customer": {"first_name": "Alex"}, "items": [{"sku": Tag("A")}]}
    built = plain_context(nested, [nested["customer"], nested["items"], Tag("A")])
    assert type(built) is PlainContext and built == nested

    walked: list[object] = []
    monkeypatch.setattr(rendering, "check_plain", lambda value, path="context": walked.append(1))
    renderer = make(email("en"))
    renderer.render("promo", "email", "en", plain_context(context(), []))
    assert walked == []  # checked when built, not again
    renderer.render("promo", "email", "en", context())
    assert walked == [1]  # any other mapping is walked


# --------------------------------------------------------------------------- compile once


def test_templates_are_compiled_once_and_reused(
    make: Callable[..., Renderer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = make({**email("en"), **email("fa")})
    first = renderer.render("promo", "email", "fa_IR", context())
    template = renderer.template("promo", "email.txt", "fa")

    env = renderer.environment("fa")
    compiled: list[str] = []
    original = env.compile
    monkeypatch.setattr(env, "compile", lambda *a, **k: compiled.append("x") or original(*a, **k))
    (tmp_path / "templates/promo/fa/email.txt").write_text("changed", encoding="utf-8")
    for locale in ("fa_IR", "fa", "fa_AF") * 50:
        assert renderer.render("promo", "email", locale, context()) == first
    assert compiled == []  # neither recompiled nor re-read
    assert renderer.template("promo", "email.txt", "fa") is template
    assert renderer.environment("fa") is env
    assert renderer.environment("en") is not env


# --------------------------------------------------------------------------- babel filters


def test_filters_are_bound_to_the_template_locale(make: Callable[..., Renderer]) -> None:
    renderer = make({})
    day = date(2025, 3, 21)
    moment = datetime(2025, 3, 21, 6, 0, tzinfo=UTC)

    en = renderer.environment("en").filters
    assert en["format_date"](day) == "March 21, 2025"
    assert en["format_currency"](Decimal("486.5"), "USD") == "$486.50"
    assert en["format_percent"](0.15) == "15%"
    assert en["format_number"](1234567) == "1,234,567"
    assert en["format_datetime"](moment, "short", "America/New_York") == "3/21/25, 2:00\u202fAM"

    fa = renderer.environment("fa").filters
    assert fa["format_date"](day) == "۱ فروردین ۱۴۰۴"
    assert fa["format_date"](day, "full") == "جمعه ۱ فروردین ۱۴۰۴"
    assert fa["format_date"](day, "short") == "۱۴۰۴/۱/۱"
    assert fa["format_date"](day, "d MMMM y") == "۲۱ مارس ۲۰۲۵"  # a pattern stays Gregorian
    assert fa["format_percent"](0.15) == "۱۵٪"
    assert fa["format_number"](1234567) == "۱٬۲۳۴٬۵۶۷"
    assert fa["format_datetime"](moment, "short", "Asia/Tehran") == "۱۴۰۴/۱/۱،\u200f ۹:۳۰"

    zh = renderer.environment("zh").filters
    assert zh["format_date"](day) == "2025年3月21日"
    assert zh["format_currency"](Decimal("3280"), "CNY") == "¥3,280.00"


@pytest.mark.parametrize("locale", ["en", "fa", "zh_Hant_TW", "ar_EG"])
def test_remembered_formats_equal_fresh_ones_for_every_value_type(locale: str) -> None:
    # Equal values of different types (or signs) may print differently; none may share.
    values: list[Any] = [
        1, True, 1.0, Decimal("1"), Decimal("1.000"), 0, Decimal("0"), Decimal("-0"),
        0.0, -0.0, Decimal("1234.5"), 1234.5, -3, Decimal("0.155"),
    ]  # fmt: skip
    days = [date(2025, 3, 21), datetime(2025, 3, 21, 23, 30, tzinfo=UTC), date(2026, 1, 1)]
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for value in values:
        calls += [("format_decimal", (value,)), ("format_percent", (value,))]
        calls += [("format_currency", (value, "USD")), ("format_currency", (value, "EUR"))]
        calls += [("format_timedelta", (value,))]
    for day in days:
        calls += [("format_date", (day,)), ("format_date", (day, "short"))]
    calls += [("relative", (date(2025, 3, 1), date(2025, 3, 21))), ("format_timedelta", (0,))]
    warm = LocaleFormats(Locale.parse(locale))
    for _ in range(2):
        for method, args in calls + calls[::-1]:
            fresh = outcome(getattr(LocaleFormats(Locale.parse(locale)), method), *args)
            assert outcome(getattr(warm, method), *args) == fresh, (method, args)


def outcome(call: Callable[..., str], *args: Any) -> tuple[str, object]:
    """What a formatting call gives: its text, or the kind of error it raises."""
    try:
        return "text", call(*args)
    except Exception as exc:
        return "error", type(exc)


def test_remembered_formats_stay_bounded() -> None:
    formats = LocaleFormats(Locale.parse("en"))
    for number in range(locale_formats._MEMO_SIZE * 2 + 5):
        assert formats.format_decimal(number) == f"{number:,}"
    assert 0 < len(formats._memo) <= locale_formats._MEMO_SIZE
    moment = datetime(2025, 3, 21, 6, 0, tzinfo=UTC)
    formats.format_datetime(moment)  # equal datetimes in other zones print differently
    assert len(formats._memo) <= locale_formats._MEMO_SIZE


def test_a_missing_date_is_an_error_not_today(make: Callable[..., Renderer]) -> None:
    renderer = make(email("en", "Ordered on\n{{ occasion.last_ordered_at | format_date }}"))
    ctx = {**context(), "occasion": {"last_ordered_at": None}}
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", ctx)
    assert caught.value.problem.line == 2
    assert "no value" in caught.value.problem.message


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 3, 21), (1404, 1, 1)),
        (date(2025, 3, 20), (1403, 12, 30)),  # 1403 is a leap year
        (date(2025, 9, 6), (1404, 6, 15)),
        (date(2025, 9, 23), (1404, 7, 1)),
        (date(2025, 12, 25), (1404, 10, 4)),
        (date(2026, 3, 21), (1405, 1, 1)),
    ],
)
def test_solar_hijri(day: date, expected: tuple[int, int, int]) -> None:
    assert solar_hijri(day) == expected


# --------------------------------------------------------------------------- names and sample data


@pytest.mark.parametrize(
    ("first", "last", "locale", "expected"),
    [
        ("伟", "王", "zh", "王伟"),
        ("伟", "王", "zh_TW", "王伟"),
        ("Alex", "Morgan", "zh", "Alex Morgan"),
        ("سارا", "احمدی", "fa_IR", "سارا احمدی"),
        ("Alex", "Morgan", "en", "Alex Morgan"),
        (" Alex ", "", "en", "Alex"),
        ("", "王", "zh", "王"),
        ("Alex", "  ", "en", "Alex"),
        ("", "", "zh", ""),
    ],
)
def test_full_name(first: str, last: str, locale: str, expected: str) -> None:
    assert full_name(first, last, locale) == expected


def test_sample_context_is_plain_realistic_data(campaigns: dict[str, Campaign]) -> None:
    fa = sample_context("fa_IR", campaigns["birthday"])
    check_plain(fa)
    assert (fa["customer"]["first_name"], fa["customer"]["last_name"]) == ("سارا", "احمدی")
    assert fa["customer"]["locale"] == "fa_IR"
    assert fa["occasion"]["kind"] == "birthday"
    assert fa["offer"] == {"discount_percent": 15}

    zh = sample_context("zh", campaigns["holiday-offer"])
    assert zh["customer"]["full_name"] == "王伟"
    assert zh["occasion"]["name"] == "春节"

    en = sample_context("en", campaigns["reorder"])
    assert en["customer"]["full_name"] == "Alex Morgan"
    assert isinstance(en["customer"]["lifetime_value"], Decimal)
    occasion = en["occasion"]
    assert occasion["sku"] == "SERUM-30ML"
    assert (occasion["date"] - occasion["last_ordered_at"]).days == 30
    assert en["offer"] == {}


def test_a_renderer_pickles_as_its_recipe_so_a_planning_worker_compiles_its_own(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    import pickle

    sample = sample_context("en", campaigns["birthday"], settings=settings)
    capped = Renderer(renderer.templates_dir, "fa", max_output_chars=100_000)
    made = capped.render("birthday", "email", "en", sample)  # fills its caches
    copy = pickle.loads(pickle.dumps(capped))
    assert (copy.templates_dir, copy.default_locale, copy.max_output_chars) == (
        renderer.templates_dir,
        "fa",
        100_000,
    )
    assert len(pickle.dumps(capped)) < 1000  # the recipe, not compiled templates
    assert copy.render("birthday", "email", "en", sample) == made
