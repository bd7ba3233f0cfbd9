"""What a template costs before it renders: its file's size, how deeply it nests, and
what Jinja would evaluate while compiling it. Each is refused with the file and a
reason, remembered as broken (not compiled again for the next customer), and never a
traceback out of validate or plan."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rapport.engine.rendering.errors import OutputTooLarge, TemplateProblemError
from rapport.engine.rendering.renderer import Renderer


def sms(body: str) -> dict[str, str]:
    return {"promo/en/sms.txt": body}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nests too deeply"),
        ("{% if x %}" * 120 + "x" + "{% endif %}" * 120, "nests too deeply"),
        ("{% for i in [1] %}" * 25 + "x" + "{% endfor %}" * 25, "nests too deeply"),
        ("{{ 1" + "|string" * 4000 + " }}", "nests too deeply"),
    ],
    ids=["parentheses", "ifs", "loops", "filters"],
)
def test_a_template_nesting_past_what_python_compiles_is_refused_once(
    make: Callable[..., Renderer], body: str, says: str
) -> None:
    renderer = make(sms(body))
    for _ in range(2):  # the second time from the cache of broken templates
        with pytest.raises(TemplateProblemError) as caught:
            renderer.render("promo", "sms", "en", {"x": 1})
        assert caught.value.problem.file.endswith("promo/en/sms.txt")
        assert says in caught.value.problem.message
    # What plan asks before rendering answers too (yes, when it cannot parse), no raise.
    assert renderer.reads("promo", "sms", "en", "customer") in (True, False)


@pytest.mark.parametrize(("size", "fits"), [(32_768, True), (32_769, False)])
def test_a_template_file_may_hold_32_kib(
    make: Callable[..., Renderer], size: int, fits: bool
) -> None:
    renderer = make(sms("x" * size), max_output_chars=300_000)
    if fits:
        assert len(renderer.render("promo", "sms", "en", {}).text) == size
    else:
        with pytest.raises(TemplateProblemError) as caught:
            renderer.render("promo", "sms", "en", {})
        assert "32,769 bytes; a template file may hold at most 32,768" in str(caught.value)


def test_filters_on_literal_arguments_run_when_the_template_does_not_when_it_compiles(
    make: Callable[..., Renderer],
) -> None:
    # 1,000 centred strings of 262,144: Jinja would build all of them while compiling.
    renderer = make(sms("{{ 'x'|center(262144) }}\n" * 1000))
    renderer.template("promo", "sms.txt", "en")  # compiles at once, builds nothing
    with pytest.raises(OutputTooLarge):
        renderer.render("promo", "sms", "en", {})


def test_a_file_including_itself_twice_is_stopped_by_the_budget(
    make: Callable[..., Renderer],
) -> None:
    twice = (
        "{% set depth = (depth | default(0)) + 1 %}{% if depth < 26 %}"
        "{% include 'promo/en/f.txt' %}{% include 'promo/en/f.txt' %}{% endif %}"
    )
    renderer = make(
        {"promo/en/sms.txt": "x{% include 'promo/en/f.txt' %}", "promo/en/f.txt": twice}
    )
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {})
    assert "template_limits" in caught.value.problem.message


def test_a_chain_of_heavy_parents_is_stopped_by_the_budget(
    make: Callable[..., Renderer],
) -> None:
    heavy = "{{ a }}" * 4000  # 28 KB each: about a third of a second to compile
    files = {
        f"promo/en/p{n}.txt": f"{{% extends 'promo/en/p{n + 1}.txt' %}}" + heavy for n in range(30)
    }
    files["promo/en/p30.txt"] = "end"
    files["promo/en/sms.txt"] = "{% extends 'promo/en/p0.txt' %}"
    renderer = make(files)
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {"a": 1})
    assert "template_limits.max_seconds" in caught.value.problem.message


@pytest.mark.parametrize(
    "body",
    ["Hi\n{{ " + "9" * 5000 + " }} STOP", "Hi\n{% set n = 1 + " + "9" * 4301 + " %}{{ n }}"],
    ids=["printed", "in a set"],
)
def test_a_number_longer_than_python_reads_is_a_syntax_problem_at_its_line(
    make: Callable[..., Renderer], body: str
) -> None:
    # Python reads at most 4,300 digits: the lexer's ValueError escaped validate and plan.
    renderer = make(sms(body))
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {})
    problem = caught.value.problem
    assert problem.file.endswith("promo/en/sms.txt") and problem.line == 2, problem
    assert "number" in problem.message and "4300 digits" in problem.message, problem
    assert "set_int_max_str_digits" not in problem.message, problem
