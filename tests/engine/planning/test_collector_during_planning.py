"""A planning run raises the garbage collector's youngest threshold while it runs and
gives back the process's own settings afterwards, whether it ends or fails: the
daemon, the web app and the dispatcher share the process and keep Python's defaults.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from rapport.engine.planning import run


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*saved)


def test_a_run_collects_young_objects_less_often(thresholds: tuple[int, int, int]) -> None:
    seen: list[tuple[int, int, int]] = []
    run._collector_frozen(lambda: seen.append(gc.get_threshold()))()
    assert seen == [(run.YOUNG_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == thresholds


def test_a_failed_run_gives_the_thresholds_back(thresholds: tuple[int, int, int]) -> None:
    def fails() -> None:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        run._collector_frozen(fails)()
    assert gc.get_threshold() == thresholds


def test_a_higher_threshold_of_the_process_is_kept(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(50_000, 10, 10)
    seen: list[int] = []
    run._collector_frozen(lambda: seen.append(gc.get_threshold()[0]))()
    assert seen == [50_000]
    assert gc.get_threshold() == (50_000, 10, 10)
