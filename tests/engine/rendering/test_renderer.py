"""The renderer: locale fallback, escaping, the sandbox's promises, compiling once.

The tests build their own template folder in ``tmp_path`` (the ``make`` fixture) so
each shows the exact file and line it expects to be blamed: syntax and undefined
names, unsafe access, output caps, a context that is not plain data. The shipped
templates are rendered in ``test_shipped_templates.py``, the locale's formats checked
in ``test_locale_formats.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError
from rapport.engine.rendering import renderer as rendering
from rapport.engine.rendering.errors import (
    ContextError,
    InvalidOutput,
    OutputTooLarge,
    TemplateMissing,
    TemplateProblemError,
)
from rapport.engine.rendering.locales import locale_chain
from rapport.engine.rendering.plain import PlainContext, check_plain, plain_context
from rapport.engine.rendering.renderer import Renderer


def context(**customer: Any) -> dict[str, Any]:
    """A small plain-data context for the hand-written templates of the error tests."""
    person = {"first_name": "Alex", "last_name": "Morgan", "full_name": "Alex Morgan"}
    person.update(customer)
    return {
        "customer": person,
        "offer": {"discount_percent": 15},
        "links": {"preferences": "https://example.com/p", "unsubscribe": "https://example.com/u"},
    }


def email(locale: str = "en", body: str = "Hi {{ customer.first_name }}") -> dict[str, str]:
    return {
        f"promo/{locale}/email_subject.txt": f"Subject {locale}\n",
        f"promo/{locale}/email.txt": body + f" ({locale})\n",
    }


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
    ("name", "says"),
    [
        ("../../config.yaml", "may not leave the templates folder"),
        ("shared/footr.txt", "no template 'shared/footr.txt' under the templates folder"),
    ],
)
def test_an_include_of_no_template_says_so_at_its_line(
    make: Callable[..., Renderer], name: str, says: str
) -> None:
    """``{% include "../../config.yaml" %}`` was reported as just '../../config.yaml'."""
    renderer = make(
        {
            **email("en", 'Hi\n{% include "' + name + '" %}'),
            "shared/footer.txt": "footer\n",
        }
    )
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", context())
    problem = caught.value.problem
    assert (Path(problem.file).parts[-3:], problem.line) == (("promo", "en", "email.txt"), 2)
    assert says in problem.message and repr(name) in problem.message


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
    # A key named like a method (last_order.items) is the key: test_last_order_items.py.
    env = make({}).environment("en")
    person = {"first_name": "Alex"}
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


def test_a_missing_date_is_an_error_not_today(make: Callable[..., Renderer]) -> None:
    renderer = make(email("en", "Ordered on\n{{ occasion.last_ordered_at | format_date }}"))
    ctx = {**context(), "occasion": {"last_ordered_at": None}}
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", ctx)
    assert caught.value.problem.line == 2
    assert "no value" in caught.value.problem.message


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


def test_a_template_linked_out_of_the_templates_folder_is_refused_not_read(
    make: Callable[..., Renderer], tmp_path: Path
) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("the neighbour's secret", encoding="utf-8")
    renderer = make({"promo/en/sms.txt": "Hi {{ customer.first_name }}. STOP to opt out\n"})
    linked = tmp_path / "templates" / "linked" / "en" / "sms.txt"
    linked.parent.mkdir(parents=True)
    linked.symlink_to(secret)

    with pytest.raises(CampaignError) as caught:
        renderer.render("linked", "sms", "en", context())
    assert "a link leading out of the templates folder" in caught.value.problem.message
    assert "secret" not in str(caught.value)
    assert caught.value.problem.file.endswith("linked/en/sms.txt")
    # a link that stays inside the folder is an ordinary template
    inside = tmp_path / "templates" / "alias" / "en" / "sms.txt"
    inside.parent.mkdir(parents=True)
    inside.symlink_to(tmp_path / "templates" / "promo" / "en" / "sms.txt")
    assert renderer.render("alias", "sms", "en", context()).text == "Hi Alex. STOP to opt out"


def test_a_template_that_is_not_a_regular_file_is_refused_before_it_is_read(
    make: Callable[..., Renderer], tmp_path: Path
) -> None:
    renderer = make({"promo/en/sms.txt": "Hi. STOP to opt out\n"})
    endless = tmp_path / "templates" / "endless" / "en" / "sms.txt"
    endless.parent.mkdir(parents=True)
    endless.symlink_to("/dev/zero")  # reading it would never end

    with pytest.raises(CampaignError) as caught:  # refused as missing, never opened
        renderer.render("endless", "sms", "en", context())
    assert caught.value.problem.file.endswith("endless/en/sms.txt")
