"""A language tag a client or a file sends costs memory as a locale does, whatever its length.

The pages pick their language from ``Accept-Language``, ``?lang=`` or a form's ``lang``,
and the UI language is negotiated through cached helpers (engine/core/i18n.py) that
listed every prefix of the tag: a 14 KB header of ``b_b_b_...`` made 7,000 prefixes
of up to 14 KB each, about 48 MB, kept in the cache after the answer. Five such GET
requests from anyone grew ``rapport serve`` from 85 MB to 326 MB, and a 64 KB form
field would make a gigabyte in one request. An import's ``locale`` values were cached
whole too (a JSON Lines line may be 4 MiB). A tag longer than any locale is no locale:
the page is in English, the row refused, and nothing of it is kept. Memory is counted
with tracemalloc, never time. On SQLite and PostgreSQL (the app reads the database).
"""

from __future__ import annotations

import gc
import tracemalloc
import uuid
from collections.abc import Callable, Iterator

import pytest
from factories import REPO
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings
from rapport.engine.customers import fields
from rapport.engine.web.app import create_app

MB = 1 << 20


def _memory(work: Callable[[], None]) -> tuple[int, int]:
    """(bytes still held after ``work``, most bytes held during it)."""
    gc.collect()
    tracemalloc.start()
    try:
        work()
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return held, peak


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(base_dir=REPO, secret_key="test"), engine)
    with TestClient(app) as client:
        client.get("/preferences")  # the page's own first-use caches, before counting
        yield client


def test_long_accept_language_headers_leave_no_memory_behind(client: TestClient) -> None:
    answers: list[int] = []
    fresh = uuid.uuid4().hex  # tags no earlier test cached

    def requests() -> None:
        for n in range(5):
            header = {"Accept-Language": f"x{n}{fresh}_" + "b_" * 2000}
            answer = client.get("/preferences", headers=header)
            answers.append(answer.status_code)
            assert 'lang="en"' in answer.text

    held, peak = _memory(requests)
    assert answers == [200] * 5
    assert held < 1 * MB
    assert peak < 2 * MB


def test_a_long_lang_field_in_a_form_is_read_in_bounded_memory(client: TestClient) -> None:
    answers: list[int] = []

    def post() -> None:
        lang = uuid.uuid4().hex + "_b" * 4000
        answers.append(client.post("/preferences", data={"lang": lang}).status_code)

    _, peak = _memory(post)
    assert answers == [200]
    assert peak < 2 * MB


def test_long_locales_in_imported_rows_are_refused_and_not_kept() -> None:
    fresh = uuid.uuid4().hex

    def rows() -> None:
        for n in range(20):
            with pytest.raises(fields.FieldInvalid) as refused:
                fields.locale(f"{n}{fresh}-" + "a" * MB)
            assert refused.value.reason == "not a known locale (e.g. en, fa_IR, zh_Hans_CN)"

    held, _ = _memory(rows)
    assert held < 1 * MB
