"""Stage timers: how the benchmark times the engine per stage without changing it.

:func:`instrumented` wraps the functions
:func:`rapport.engine.planning.plan.run_plan` calls for the duration of a run
(customer batches, audiences, the pure planner, the message context, the renderer
and the outbox insert) and restores them afterwards; each wrapper adds well under a
microsecond a call. The wrappers also keep a bounded sample of contexts and outbox
rows, which the ceilings replay, and render every :data:`PAIR_EVERY`-th message with
raw Jinja beside the engine. Beside them, what a run costs outside the stages: SQL
statements (:class:`StatementCounter`) and peak memory (:func:`peak_rss_mib`). The
scenarios that run the engine under these timers are in :mod:`bench.scenarios`.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

from rapport.engine.planning import run as planning
from rapport.engine.rendering.filters import CUSTOMER_LOCALE
from rapport.engine.rendering.renderer import Renderer

SAMPLE = 5_000


def peak_rss_mib() -> float:
    """Peak resident set of this process plus that of its largest finished child (the
    planning workers), so far; an upper bound of what the run held at once. Linux
    reports KiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


class StatementCounter:
    """Counts SQL statements sent to the database (an executemany counts once)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


@dataclass
class Timer:
    seconds: float = 0.0
    calls: int = 0
    items: int = 0


@dataclass
class Samples:
    contexts: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    rendered: list[tuple[str, str, Any]] = field(default_factory=list)


@dataclass
class Stages:
    timers: dict[str, Timer] = field(default_factory=dict)
    samples: Samples = field(default_factory=Samples)
    #: Called with the number of customers read so far, after each batch.
    progress: Callable[[int], None] | None = None
    #: Render some messages twice, raw Jinja beside the engine (see _paired_render).
    pair_renders: bool = False
    #: Per paired message: raw Jinja's time over the engine's.
    pair_ratios: list[float] = field(default_factory=list)

    def timer(self, name: str) -> Timer:
        return self.timers.setdefault(name, Timer())


def _timed_generator(stages: Stages, name: str, inner: Callable[..., Any], size: Callable) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        timer = stages.timer(name)
        iterator = iter(inner(*args, **kwargs))
        while True:
            started = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                timer.seconds += time.perf_counter() - started
                return
            timer.seconds += time.perf_counter() - started
            timer.calls += 1
            timer.items += size(item)
            if name == "select" and stages.progress is not None:
                stages.progress(timer.items)
            yield item

    return wrapper


def _timed(
    stages: Stages, name: str, inner: Callable[..., Any], size: Callable, keep: Callable | None
) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        timer = stages.timer(name)
        started = time.perf_counter()
        result = inner(*args, **kwargs)
        timer.seconds += time.perf_counter() - started
        timer.calls += 1
        timer.items += size(args, result)
        if keep is not None:
            keep(args, kwargs, result)
        return result

    return wrapper


#: Every this many messages, the broadcast also renders the message with raw Jinja.
PAIR_EVERY = 8


def _paired_render(stages: Stages, renderer: Renderer, keep: Callable) -> Any:
    """The renderer, timed; and every :data:`PAIR_EVERY`-th message also rendered
    with raw Jinja (``Template.render`` of the same compiled templates and context)
    right before or after it, alternately.

    The pairs are the render ceiling measured under the engine's own conditions: the
    same moment, the same machine load, caches as warm or cold as planning leaves
    them. A separate tight loop over the sample (``ceilings.raw_render``) runs with
    every template hot and is reported beside it.
    """
    inner = renderer.render
    timer = stages.timer("render")
    pairs = stages.timer("render_pairs_engine")
    raw = stages.timer("render_pairs_raw")

    def raw_render(template_set: str, kind: str, locale: str, context: Any) -> float:
        templates = renderer._resolved[(template_set, kind, locale)][1].values()
        started = time.perf_counter()
        token = CUSTOMER_LOCALE.set(locale)
        for template in templates:
            template.render(context)
        CUSTOMER_LOCALE.reset(token)
        return time.perf_counter() - started

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        paired = (
            stages.pair_renders
            and timer.calls % PAIR_EVERY == 0
            and (args[0], args[1], args[2]) in renderer._resolved
        )
        raw_first = paired and pairs.calls % 2 == 0
        raw_took = raw_render(*args) if raw_first else 0.0
        started = time.perf_counter()
        result = inner(*args, **kwargs)
        took = time.perf_counter() - started
        if paired and not raw_first:
            raw_took = raw_render(*args)
        timer.seconds += took
        timer.calls += 1
        timer.items += 1
        if paired:
            raw.seconds += raw_took
            stages.pair_ratios.append(raw_took / took if took > 0 else 1.0)
            pairs.seconds += took
            pairs.calls += 1
            pairs.items += 1
            raw.calls += 1
            raw.items += 1
        keep(args, kwargs, result)
        return result

    return wrapper


@contextlib.contextmanager
def instrumented(stages: Stages, renderer: Renderer) -> Iterator[None]:
    """Wrap the functions ``run_plan`` calls; restore them afterwards."""
    samples = stages.samples

    def keep_context(args: Any, kwargs: Any, result: Any) -> None:
        stages._last_context = result  # type: ignore[attr-defined]

    def keep_render(args: Any, kwargs: Any, result: Any) -> None:
        if len(samples.contexts) < SAMPLE:
            template_set, kind, locale, context = args
            samples.contexts.append((template_set, kind, locale, context))
            samples.rendered.append((kind, locale, result))

    def keep_rows(args: Any, kwargs: Any, result: Any) -> None:
        room = SAMPLE - len(samples.rows)
        if room > 0:
            samples.rows.extend(args[1][:room])

    patches: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, replacement: Any) -> None:
        if hasattr(owner, name):
            patches.append((owner, name, getattr(owner, name)))
            setattr(owner, name, replacement)

    patch(
        planning,
        "iter_profile_batches",
        _timed_generator(stages, "select", planning.iter_profile_batches, len),
    )
    patch(
        planning,
        "audiences_for",
        _timed(stages, "audiences", planning.audiences_for, lambda a, r: len(a[1]), None),
    )
    patch(
        planning,
        "plan",
        _timed_generator(stages, "plan", planning.plan, lambda d: int(d.selected)),
    )
    patch(
        planning,
        "message_context",
        _timed(stages, "context", planning.message_context, lambda a, r: 1, None),
    )
    # The write stage is the insert and its commit, as in the raw insert ceiling.
    patch(
        planning,
        "write_batch",
        _timed(stages, "write", planning.write_batch, lambda a, r: len(a[1]), keep_rows),
    )
    patch(renderer, "render", _paired_render(stages, renderer, keep_render))
    try:
        yield
    finally:
        for owner, name, original in reversed(patches):
            if owner is renderer:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
