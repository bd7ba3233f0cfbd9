"""The daemon object itself: what `rapport run --once` and the scheduler share."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from factories import make_settings
from sqlalchemy import Engine

from rapport.engine.runtime.daemon import Daemon


@pytest.fixture
def thread_errors() -> Iterator[list[BaseException]]:
    """Exceptions raised in any thread while the test runs (none may be lost)."""
    seen: list[BaseException] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: seen.append(args.exc_value)  # type: ignore[arg-type]
    try:
        yield seen
    finally:
        threading.excepthook = previous


def test_a_daemon_ticked_by_hand_stops_without_an_error_in_any_thread(
    engine: Engine, tmp_path, thread_errors: list[BaseException]
) -> None:
    settings = make_settings(base_dir=tmp_path)
    daemon = Daemon(settings, engine, plan=False)
    daemon.dispatch_tick()
    daemon.stop(grace=5)
    assert thread_errors == []
    assert daemon.stopped.is_set()
