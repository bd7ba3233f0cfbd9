"""A message's templates render within a time and memory budget, or are refused with
FILE:LINE and the reason, before the oversized value is allocated.

The limits are pinned with literal values at their edges: the defaults are 1 s, 64 MB
(so a value may hold 262,144 characters or items, a 256th of it; loops and macro calls may run
4,194,304 times, 16 bytes each), a number 65,536 bits and a part 100,000 characters.
"""

from __future__ import annotations

import itertools
import os
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from rapport.engine.core.config import Settings
from rapport.engine.rendering import budget
from rapport.engine.rendering.budget import Limits
from rapport.engine.rendering.errors import OutputTooLarge, TemplateProblemError
from rapport.engine.rendering.renderer import Renderer

#: What a hostile or careless marketer tried (issue 15), one template line each.
HOSTILE = {
    "nested empty loops": "{% for i in range(100000) %}{% for j in range(100000) %}"
    "{% endfor %}{% endfor %}",
    "a loop filtered to nothing": "{% for a in range(100000) %}"
    "{% for b in range(100000) if false %}{% endfor %}{% endfor %}",
    "a set block filled by a loop": "{% set x %}{% for i in range(100000) %}"
    "{% for j in range(100000) %}x{% endfor %}{% endfor %}{% endset %}{{ x|length }}",
    "a set block kept by a loop of made strings": "{% set x %}{% for i in range(100000) %}"
    "{% for j in range(40) %}{{ i ~ 'x' * 200 }}{% endfor %}{% endfor %}{% endset %}{{ x|length }}",
    "a macro's output kept by a loop": "{% macro m() %}{% for i in range(100000) %}"
    "{{ 'y' * 3000 ~ i }}{% endfor %}{% endmacro %}{{ m()|length }}",
    "a list repeating a long list": "{% set a = [0] * 262144 %}{% set b = [a] * 262144 %}"
    "{{ b|string|length }}",
    "literals repeating a long list": "{% set a = [0] * 100000 %}"
    "{% set b = [a, a, a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b, b, b] %}"
    "{{ c|string|length }}",
    "a dict literal repeating a long list": "{% set a = [0] * 100000 %}"
    "{% set d = {'x': a, 'y': a, 'z': a} %}{{ d|tojson|length }}",
    "membership in an aliased list": "{% set a = [0] * 100000 %}{% set b = [a] * 100000 %}"
    "{{ [0] in b }}",
    "nested repetition": "{% set l = [[[[[[[[1] * 10] * 10] * 10] * 10] * 10] * 10] * 10] %}"
    "{{ l|pprint|length }}",
    "a long string repeated in a list": "{% set s = 'a ' * 131072 %}"
    "{{ ([s] * 262144)|map('wordcount')|sum }}",
    "round to a billion digits": "{{ 5|round(-1000000000) }}",
    "round down to a billion digits": "{{ 5|round(1000000000, 'floor') }}",
    "translate through a list": "{% set t = ['x' * 2000] * 100 %}"
    "{{ ('a' * 262144).translate(t)|length }}",
    "printf key with parentheses": "{{ ('%(a(b)c)2000000000s' % {'a(b)c': 'y'})|length }}",
    "lipsum with a float size": "{{ lipsum(1000, max=1000000000.0)|length }}",
    "a number of a million bits": "{{ (('f' * 262144)|int(base=16)) > 0 }}",
    "a date pattern of 150,000 characters": "{{ d|format_date('y' * 150000)|length }}",
    "cycler items doubling": "{% set ns = namespace(x=[1]) %}{% for i in range(40) %}"
    "{% set ns.x = cycler(ns.x, ns.x).items %}{% endfor %}x{{ ns.x }}",
    "namespaces pointing twice at the last": "{% set h = namespace(cur=0) %}"
    "{% for i in range(40) %}{% set n = namespace() %}{% set n.a = h.cur %}"
    "{% set n.b = h.cur %}{% set h.cur = n %}{% endfor %}x{{ h.cur|string|length }}",
    "dict views repeated": "{% set a = [0] * 200000 %}{% set d = {'k': a} %}"
    "{% set b = [d.values()] * 262000 %}x{{ b|string|length }}",
    "slices kept alive by cyclers": "{% set s = '\U0001f600' * 262144 %}"
    "{% set ns = namespace(c=none) %}{% for i in range(100000) %}"
    "{% set ns.c = cycler(ns.c, s[i:]) %}{% endfor %}x",
    "small strings kept alive by cyclers": "{% set s = '\U0001f600' * 1000 %}"
    "{% set ns = namespace(c=none) %}{% for i in range(100000) %}{% for j in range(40) %}"
    "{% set ns.c = cycler(ns.c, s ~ s ~ s ~ i) %}{% endfor %}{% endfor %}x",
    "a loop of generators keeping strings alive": "{% set s = '\U0001f600' * 1000 %}"
    "{% set ns = namespace(c=none) %}{% for i in range(100000) %}{% for j in range(40) %}"
    "{% set ns.c = [ns.c, s ~ s ~ s ~ i]|map('string') %}{% endfor %}{% endfor %}x",
    "sum with a list start": "x{{ (range(100000)|map('string')|map('list')|sum(start=[]))"
    "|length }}",
    "one expression of a thousand filters": "{% set s = 'ab ' * 87000 %}x{{ ["
    + "s|wordcount, " * 1000
    + "0]|sum }}",
    "center filter": "{{ 'a'|center(10**9) }}",
    "printf width": "{{ '%01000000000d' % 1 }}",
    "printf precision": "{{ '%.1000000000f' % 1.5 }}",
    "printf star width": "{{ '%*d' % (1000000000, 1) }}",
    "format filter": "{{ '%1000000000s'|format('a') }}",
    "str.format width": "{{ '{:>1000000000}'.format('a') }}",
    "str.format nested width": "{{ '{:>{w}}'.format('a', w=1000000000) }}",
    "str.format repeated field": "{{ ('{0}' * 400).format('x' * 1000000) }}",
    "namespace doubling with ~": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "namespace doubling with +": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
    "ljust": "{{ 'a'.ljust(500000000)|length }}",
    "zfill": "{{ '1'.zfill(500000000)|length }}",
    "expandtabs": "{{ ('\t' * 1000).expandtabs(1000000)|length }}",
    "replace method": "{{ ('a' * 100000).replace('a', 'b' * 100000)|length }}",
    "replace filter": "{{ ('a' * 100000)|replace('a', 'b' * 100000)|length }}",
    "join method": "{{ ('x' * 100000).join(range(100000)|map('string'))|length }}",
    "join filter": "{{ range(100000)|join('x' * 100000)|length }}",
    "translate": "{{ ('a' * 100000).translate({97: 'b' * 100000})|length }}",
    "indent filter": "{{ ('a\\n' * 100000)|indent(100000)|length }}",
    "wordwrap filter": "{{ ('a ' * 100000)|wordwrap(1, wrapstring='x' * 100000)|length }}",
    "tojson indent": "{{ [[[1]]]|tojson(indent=1000000000) }}",
    "slice filter": "{{ [1]|slice(1000000000)|list|length }}",
    "batch filter": "{{ [1]|batch(1000000000, 'x')|list|length }}",
    "to_bytes": "{{ (1).to_bytes(1000000000, 'big')|length }}",
    "squaring a number": "{% set ns = namespace(x=3) %}{% for i in range(100) %}"
    "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x > 5 }}",
    "a big power": "{{ 7 ** 100000000 > 1 }}",
    "lipsum": "{{ lipsum(10**6) }}",
    "a macro calling itself twice": "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "a caller block looping": "{% macro m() %}{% for i in range(100000) %}{{ caller() }}"
    "{% endfor %}{% endmacro %}{% call m() %}{% for j in range(100000) %}{% endfor %}"
    "{% endcall %}",
    "recursive loop": "{% for item in [[1]] recursive %}{% for i in range(100000) %}"
    "{% endfor %}{{ loop([[1]]) }}{% endfor %}",
    "a test per item of a long list": "{% set l = range(100000)|list %}"
    "{{ range(100000)|select('in', l)|list|length }}",
    "punycode of many distinct characters": "{{ ('"
    + "".join(map(chr, range(0x4E00, 0x4E00 + 2000)))
    + "' * 100).encode('punycode')|length }}",
    "wordwrap of a run of spaces": "{{ (' ' * 131072)|wordwrap(1)|length }}",
}


def sms(body: str) -> dict[str, str]:
    return {"promo/en/sms.txt": "Hi\n" + body}


class FrozenClock:
    """A monotonic clock a test moves: a render's deadline passes only when it says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def advancing_clock() -> Callable[[], float]:
    """A monotonic clock that moves 1 ms at each reading: a 1 s limit passes at the
    1,001st reading, however fast or loaded the machine is."""
    moves = itertools.count()
    return lambda: 1000.0 + next(moves) / 1000


#: The hostile cases only the time limit stops (each ran for the whole second of the
#: default limit, a second of CPU each, on the real clock): the test runs them on
#: :func:`advancing_clock`, so each stops at its own deadline checks after 1,000
#: readings instead. "nested empty loops" stays on the real clock, the default, as the
#: commands run it (test_template_limits_cli.py runs such loops through them too), and
#: so does "one expression of a thousand filters": its readings are a filter call apart,
#: 10 ms each, so 1,000 of them took 11 s.
DEADLINE_STOPS = {
    "a loop filtered to nothing",
    "a set block filled by a loop",
    "a caller block looping",
    "recursive loop",
    "a test per item of a long list",
}


@pytest.mark.parametrize(("name", "body"), HOSTILE.items(), ids=HOSTILE.keys())
def test_a_hostile_template_is_refused_with_file_line_and_reason(
    make: Callable[..., Renderer], name: str, body: str
) -> None:
    renderer = make(sms(body), **({"clock": advancing_clock()} if name in DEADLINE_STOPS else {}))
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {"d": date(2026, 3, 21)})
    problem = caught.value.problem
    assert problem.file.endswith("promo/en/sms.txt")
    assert problem.line == 2, problem
    assert problem.message
    if name in DEADLINE_STOPS:
        assert problem.message.startswith("rendering took longer than 1 s"), problem


ALLOCATING = {k: v for k, v in HOSTILE.items() if "loop" not in k and "macro" not in k}


@pytest.mark.parametrize("body", ALLOCATING.values(), ids=ALLOCATING.keys())
def test_an_oversized_value_is_refused_before_it_is_allocated(
    make: Callable[..., Renderer], body: str
) -> None:
    renderer = make(sms(body))
    renderer.template("promo", "sms.txt", "en")  # compiled outside the measurement
    tracemalloc.start()
    try:
        with pytest.raises(TemplateProblemError):
            renderer.render("promo", "sms", "en", {"d": date(2026, 3, 21)})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The largest inputs above are 100,000 characters; a refusal after the fact
    # would have allocated a gigabyte or ten.
    assert peak < 40 * 1024 * 1024, f"{peak / 2**20:.0f} MB allocated before refusing"


def test_a_loop_past_the_time_limit_is_stopped_at_its_line(
    make: Callable[..., Renderer],
) -> None:
    clock = FrozenClock()
    moves = itertools.count()

    def advancing() -> float:  # 1 ms a reading: the 1 s limit passes at the 1,001st tick
        return clock.now + next(moves) / 1000

    body = "{% for i in range(100000) %}\n{{ i if i < 0 }}{% endfor %}"
    renderer = make(sms(body), clock=advancing)
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {})
    problem = caught.value.problem
    assert problem.line == 2
    assert problem.message == (
        "rendering took longer than 1 s (template_limits.max_seconds); "
        "a loop or macro here runs too long"
    )


@pytest.mark.parametrize(
    "body",
    [
        "{{ range(5000)|select('in', [1, 2])|list|length }}",
        "{{ range(5000)|reject('in', [1, 2])|list|length }}",
        "{{ ([{'a': 1}] * 5000)|selectattr('a', 'in', [1, 2])|list|length }}",
    ],
    ids=["select", "reject", "selectattr"],
)
def test_a_test_applied_by_a_filter_checks_the_deadline_at_each_item(
    make: Callable[..., Renderer], body: str
) -> None:
    # No loop and no call of the template's own: only the test runs per item, and
    # ``range(100000)|select('in', a_long_list)`` ran for 40 s in one expression.
    clock = FrozenClock()
    moves = itertools.count()

    def advancing() -> float:  # 1 ms a reading: the 1 s limit passes at the 1,001st
        return clock.now + next(moves) / 1000

    renderer = make(sms(body), clock=advancing)
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {})
    assert caught.value.problem.line == 2
    assert "longer than 1 s" in caught.value.problem.message


def test_a_message_just_inside_the_time_limit_renders(make: Callable[..., Renderer]) -> None:
    readings = iter([0.0, 0.0, 1.0, 1.0, 1.0])  # the deadline is 0 + 1 s; 1.0 is not past it
    renderer = make(sms("{% for i in range(3) %}{{ i }}{% endfor %}"), clock=lambda: next(readings))
    assert renderer.render("promo", "sms", "en", {}).text == "Hi\n012"


def test_one_budget_covers_all_of_a_messages_parts(make: Callable[..., Renderer]) -> None:
    # 150,400 loop ticks a part: each part fits 4 MB (262,144 ticks), both do not.
    loops = "{% for i in range(400) %}{% for j in range(375) %}{% endfor %}{% endfor %}"
    files = {"promo/en/email_subject.txt": loops + "Subject", "promo/en/email.txt": loops + "B"}
    renderer = make(files, clock=FrozenClock(), limits=Limits(max_memory_mb=4))
    assert renderer.render_part("promo", "email.txt", "en", {}) == "B"
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", {})
    assert caught.value.problem.file.endswith("email.txt")  # the second part ran out


@pytest.mark.parametrize(
    ("body", "fits"),
    [
        ("{{ 'a'|center(262144)|length }}", True),
        ("{{ 'a'|center(262145)|length }}", False),
        ("{{ ('ab' * 131072)|length }}", True),
        ("{{ ('ab' * 131073)|length }}", False),
        ("{{ 'a'.ljust(262144)|length }}", True),
        ("{{ 'a'.ljust(262145)|length }}", False),
        ("{{ ('a' * 262143 ~ 'b')|length }}", True),
        ("{{ ('a' * 262144 ~ 'b')|length }}", False),
        ("{{ (4 ** 21845) > 1 }}", True),  # 3 bits a factor: 65,535 bits
        ("{{ (4 ** 21846) > 1 }}", False),
    ],
)
def test_a_value_may_hold_262144_characters_by_default(
    make: Callable[..., Renderer], body: str, fits: bool
) -> None:
    renderer = make(sms(body), clock=FrozenClock())
    if fits:
        renderer.render("promo", "sms", "en", {})
    else:
        with pytest.raises(TemplateProblemError) as caught:
            renderer.render("promo", "sms", "en", {})
        assert "262,144" in caught.value.problem.message or "65,5" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "fits"),
    [
        ("{{ ('é' * 256).encode('punycode')|length }}", True),
        ("{{ ('é' * 257).encode('punycode')|length }}", False),
        ("{{ ('é' * 257).encode(encoding='Punycode')|length }}", False),
        ("{{ ('é' * 257).encode('IDNA')|length }}", False),
        ("{{ ('a' * 257).encode('ascii').decode('punycode')|length }}", False),
        ("{{ ('é' * 1000).encode('utf-8')|length }}", True),
    ],
)
def test_punycode_and_idna_take_at_most_256_characters(
    make: Callable[..., Renderer], body: str, fits: bool
) -> None:
    # Both codecs are pure Python and quadratic: 256,000 characters of 8,000 distinct
    # ones ran for hours inside one call, where no deadline can act.
    renderer = make(sms(body), clock=FrozenClock())
    if fits:
        renderer.render("promo", "sms", "en", {})
    else:
        with pytest.raises(TemplateProblemError) as caught:
            renderer.render("promo", "sms", "en", {})
        assert "at most 256 characters" in caught.value.problem.message
        assert caught.value.problem.line == 2


@pytest.mark.parametrize(
    ("text", "width", "fits"),
    [(32768, 1, True), (32769, 1, False), (65536, 4, True), (65537, 4, False)],
)
def test_wordwrap_takes_a_text_whose_length_squared_is_at_most_2_to_the_30_times_its_width(
    make: Callable[..., Renderer], text: int, width: int, fits: bool
) -> None:
    # textwrap copies the rest of a word (or of a run of spaces) longer than the width
    # for every piece it breaks off: 131,072 spaces at width 1 took 3.5 s in one call.
    body = f"{{{{ (' ' * {text})|wordwrap({width})|length }}}}"
    renderer = make(sms(body), clock=FrozenClock())
    if fits:
        renderer.render("promo", "sms", "en", {})
    else:
        with pytest.raises(TemplateProblemError) as caught:
            renderer.render("promo", "sms", "en", {})
        assert "the wordwrap filter" in caught.value.problem.message
        assert caught.value.problem.line == 2


@pytest.mark.parametrize(("inner", "fits"), [(511, True), (512, False)])
def test_loops_may_run_262144_times_on_a_4_mb_budget(
    make: Callable[..., Renderer], inner: int, fits: bool
) -> None:
    # 512 outer + 512 * 511 inner = 262,144 ticks of 16 bytes = exactly 4 MB.
    body = f"{{% for i in range(512) %}}{{% for j in range({inner}) %}}{{% endfor %}}{{% endfor %}}"
    renderer = make(sms(body), clock=FrozenClock(), limits=Limits(max_memory_mb=4))
    if fits:
        assert renderer.render("promo", "sms", "en", {}).text == "Hi\n"
    else:
        with pytest.raises(TemplateProblemError) as caught:
            renderer.render("promo", "sms", "en", {})
        assert "4 MB memory limit" in caught.value.problem.message


@pytest.mark.parametrize(("size", "fits"), [(100_000, True), (100_001, False)])
def test_a_part_may_print_100000_characters_by_default(
    make: Callable[..., Renderer], size: int, fits: bool
) -> None:
    renderer = make(sms("{{ 'x' * n }}"))
    if fits:
        assert len(renderer.render("promo", "sms", "en", {"n": size - 3}).text) == size
    else:
        with pytest.raises(OutputTooLarge):
            renderer.render("promo", "sms", "en", {"n": size - 3})


def test_everyday_template_code_is_untouched_by_the_guards(
    make: Callable[..., Renderer],
) -> None:
    body = (
        "{{ 'x'|center(7) }}|{{ '%05d' % 42 }}|{{ '{:>6}'.format('ab') }}|"
        "{{ range(4)|join(', ') }}|{{ 'a-b'.replace('-', '+') }}|{{ [1, 2] + [3] }}|"
        "{{ 'ab' ~ 'cd' }}|{{ 'x' * 3 }}|{{ 2 ** 10 }}|{{ '%s and %s'|format('a', 'b') }}|"
        "{{ ', '.join(['سارا', '伟']) }}|{{ 'tab\tstop'.expandtabs(2) }}|"
        "{{ [1,2,3]|batch(2)|list }}"
    )
    renderer = make(sms(body))
    assert renderer.render("promo", "sms", "en", {}).text == (
        "Hi\n   x   |00042|    ab|0, 1, 2, 3|a+b|[1, 2, 3]|abcd|xxx|1024|a and b|"
        "سارا, 伟|tab stop|[[1, 2], [3]]"
    )


def test_after_three_overruns_a_template_is_refused_without_rendering(
    make: Callable[..., Renderer],
) -> None:
    loops = "{% for i in range(n) %}{% for j in range(n) %}{% endfor %}{% endfor %}"
    renderer = make(sms(loops), limits=Limits(max_memory_mb=4))
    for _ in range(3):
        with pytest.raises(TemplateProblemError):
            renderer.render("promo", "sms", "en", {"n": 600})  # 360,600 ticks: over 4 MB
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {"n": 1})  # would fit; not even tried
    assert "refused without rendering after 3 messages went over" in str(caught.value)


def test_the_limits_come_from_config_and_reach_planning_workers() -> None:
    import pickle

    settings = Settings.model_validate(
        {"template_limits": {"max_seconds": 2.5, "max_memory_mb": 32, "max_output_chars": 5000}}
    )
    renderer = Renderer.from_settings(settings)
    assert renderer.limits == Limits(max_seconds=2.5, max_memory_mb=32)
    assert renderer.max_output_chars == 5000
    copy = pickle.loads(pickle.dumps(renderer))
    assert (copy.limits, copy.max_output_chars) == (renderer.limits, 5000)


@pytest.fixture
def renders_in_threads() -> Iterator[Any]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        yield pool


def test_each_thread_renders_on_its_own_budget(
    make: Callable[..., Renderer], renders_in_threads: Any
) -> None:
    # 8 messages of 160,400 ticks on 4 threads, so at least two on one thread: one budget
    # of 4 MB shared by the threads, or kept by a thread from one message to its next,
    # would run out at the 2nd.
    loops = "{% for i in range(400) %}{% for j in range(400) %}{% endfor %}{% endfor %}ok"
    renderer = make(sms(loops), limits=Limits(4, 4))
    texts = renders_in_threads.map(
        lambda _: renderer.render("promo", "sms", "en", {}).text, range(8)
    )
    assert set(texts) == {"Hi\nok"}


def test_a_forked_child_reads_its_own_resident_size() -> None:
    """The renders of a forked planning worker measure the worker, not the parent whose
    /proc/self/statm the parent opened before the fork."""
    budget.resident_bytes()  # the parent's descriptor is open before the fork
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: grow by 64 MiB, then compare with a fresh reading
        try:
            grown = bytearray(64 * 1024 * 1024)
            grown[::4096] = b"x" * len(grown[::4096])
            with open("/proc/self/statm", "rb") as own:
                fresh = int(own.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            seen = budget.resident_bytes()
            os.write(writer, b"1" if abs(seen - fresh) < 16 * 1024 * 1024 else b"0")
        finally:
            os._exit(0)
    os.close(writer)
    answer = os.read(reader, 1)
    os.waitpid(pid, 0)
    os.close(reader)
    assert answer == b"1"
