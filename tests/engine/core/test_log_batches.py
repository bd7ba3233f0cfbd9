"""Lines logged in a batch (the dispatcher's outcome lines, a group at a time) are
written with one write and one flush: one line per record still, redacted, in order."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from rapport.engine.core import logs

log = logging.getLogger("rapport.test.batches")


class Stream:
    """stderr as the handler sees it: what was written, one item per write()."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.flushes = 0

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        self.flushes += 1

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in "".join(self.writes).splitlines()]


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stream]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    written = Stream()
    monkeypatch.setattr("sys.stderr", written)
    logs.configure("INFO", json_lines=True)
    yield written
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def sent(message_id: int) -> None:
    log.info(
        "message sent via email to someone@example.org",
        extra={"message_id": message_id, "email": "someone@example.org", "status": "sent"},
    )


def test_a_batch_is_written_at_once_one_line_a_record_as_without_it(stream: Stream) -> None:
    sent(1)
    one_by_one = len(stream.writes)
    with logs.batched():
        for message_id in (2, 3, 4):
            sent(message_id)
        assert stream.writes[one_by_one:] == []  # held until the batch ends

    assert len(stream.writes) == one_by_one + 1
    lines = stream.lines()
    assert [line["message_id"] for line in lines] == [1, 2, 3, 4]
    for line in lines:
        assert line["message"] == "message sent via email to [email]"
        assert line["email"] == "[email]"
        assert "someone" not in json.dumps(line)
    without_ts = [
        {k: v for k, v in line.items() if k not in ("ts", "message_id")} for line in lines
    ]
    assert without_ts[1:] == without_ts[:1] * 3


def test_a_batch_that_raises_still_writes_its_lines(stream: Stream) -> None:
    with pytest.raises(RuntimeError), logs.batched():
        sent(1)
        sent(2)
        raise RuntimeError("cut short")

    assert [line["message_id"] for line in stream.lines()] == [1, 2]
    assert stream.flushes >= 1


def test_another_threads_lines_are_not_held_by_a_batch(stream: Stream) -> None:
    with logs.batched():
        sent(1)
        other = threading.Thread(target=sent, args=(2,))
        other.start()
        other.join()
        assert [line["message_id"] for line in stream.lines()] == [2]

    assert [line["message_id"] for line in stream.lines()] == [2, 1]


def test_a_batch_inside_a_batch_is_written_with_the_outer_one(stream: Stream) -> None:
    with logs.batched():
        sent(1)
        with logs.batched():
            sent(2)
        sent(3)
        assert stream.writes == []

    assert len(stream.writes) == 1
    assert [line["message_id"] for line in stream.lines()] == [1, 2, 3]


@pytest.mark.parametrize(
    "created",
    [0.0, 1.0005, 1_765_000_000.9994999, 1_765_000_000.9999996, 1_765_000_000.0000004, 4e9 + 0.5],
)
def test_the_timestamp_is_written_as_isoformat_writes_it(created: float) -> None:
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert logs._timestamp(created) == expected
    assert logs._timestamp(created) == expected  # the second from the cache


def test_two_threads_opening_a_batch_at_once_lose_no_line(
    stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both threads reach the batch's opening together (held at its lock): the second
    must find the first's batch open and write its own lines at once, not replace the
    first's list with its own (which lost the lines the first had logged)."""
    handler = logs._handler
    assert handler is not None
    both_opening = threading.Barrier(2, timeout=30)
    first_logged, second_logged = threading.Event(), threading.Event()
    opening: set[str] = set()
    acquire = handler.acquire

    def held_acquire() -> None:
        name = threading.current_thread().name
        if name in ("first", "second") and name not in opening:
            opening.add(name)
            both_opening.wait()
            if name == "second":
                assert first_logged.wait(30)
        acquire()

    monkeypatch.setattr(handler, "acquire", held_acquire)

    def first() -> None:
        with logs.batched():
            sent(1)
            first_logged.set()
            assert second_logged.wait(30)
            sent(2)

    def second() -> None:
        with logs.batched():
            sent(3)
            second_logged.set()

    threads = [threading.Thread(target=f, name=f.__name__) for f in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(line["message_id"] for line in stream.lines()) == [1, 2, 3]
