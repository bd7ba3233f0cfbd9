"""Import files saved in another encoding than UTF-8 are refused, never read wrongly.

A Persian or Chinese shop's export is often Windows-1256, GBK/GB18030 or Big5, or
UTF-16 from a spreadsheet's 'Unicode text'. Such a file's lines are mostly not UTF-8
(each one a bad row), but a line whose bytes happen to form valid UTF-8 (the GB18030
bytes of 伟 are the UTF-8 of the Greek ΰ) would be stored as that other text, silently.

A file in UTF-16 (or UTF-32) is refused as a whole, saying so.

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from rapport.engine.core.errors import ImportFileError
from tests.engine.customers.conftest import customers, run


def test_a_line_that_is_utf8_by_chance_in_a_file_in_another_encoding_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    """The rows that are UTF-8 only by chance are refused, before and after the first
    line that is not UTF-8; a row of plain ASCII reads the same in every one of these
    encodings and is imported."""
    path = tmp_path / "c.csv"
    path.write_bytes(
        "id,first_name,locale,timezone\n"
        "c-1,伟,zh_CN,Asia/Shanghai\n"  # 2: valid UTF-8 by chance (ΰ)
        "c-2,李,zh_CN,Asia/Shanghai\n"  # 3: not UTF-8
        "c-3,Emma,en_US,UTC\n"  # 4: ASCII
        "c-4,伟,zh_CN,Asia/Shanghai\n"  # 5: valid UTF-8 by chance
        "c-5,王芳,zh_CN,Asia/Shanghai\n"  # 6: not UTF-8
        "c-6,张敏,zh_CN,Asia/Shanghai\n".encode("gb18030")  # 7: not UTF-8
    )
    assert "c-1,伟".encode("gb18030").decode("utf-8") == "c-1,ΰ"
    report = run(engine, "customers", path)
    assert [(p.line, p.field) for p in report.problems] == [
        (2, None),
        (3, None),
        (5, None),
        (6, None),
        (7, None),
    ]
    assert "line 3" in report.problems[0].message
    assert "UTF-8" in report.problems[0].message
    assert set(customers(engine)) == {"c-3"}


def test_a_damaged_line_of_a_utf8_file_is_refused_alone(engine: Engine, tmp_path: Path) -> None:
    """A UTF-8 file with one line damaged (a byte lost in a copy) is no file in another
    encoding: that line is refused, and the Persian and Chinese names around it, which
    are valid, are imported as written."""
    path = tmp_path / "c.csv"
    path.write_bytes(
        "id,first_name,locale,timezone\n"
        "c-1,سارا,fa_IR,Asia/Tehran\n"
        "c-2,王芳,zh_CN,Asia/Shanghai\n".encode()
        + b"c-3,\xd8\xb9\xd9,fa_IR,Asia/Tehran\n"  # 4: a truncated Persian letter
        + "c-4,مریم,fa_IR,Asia/Tehran\nc-5,伟,zh_CN,Asia/Shanghai\n".encode()
    )
    report = run(engine, "customers", path)
    assert [(p.line, p.field) for p in report.problems] == [(4, None)]
    assert "not UTF-8" in report.problems[0].message
    stored = customers(engine)
    assert set(stored) == {"c-1", "c-2", "c-4", "c-5"}
    assert [stored[c].first_name for c in ("c-1", "c-2", "c-4", "c-5")] == [
        "سارا",
        "王芳",
        "مریم",
        "伟",
    ]


def test_a_jsonl_line_that_is_utf8_by_chance_in_a_file_in_another_encoding_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(
        '{"id": "c-1", "first_name": "伟", "locale": "zh_CN", "timezone": "UTC"}\n'
        '{"id": "c-2", "first_name": "李", "locale": "zh_CN", "timezone": "UTC"}\n'
        '{"id": "c-3", "first_name": "王芳", "locale": "zh_CN", "timezone": "UTC"}\n'.encode(
            "gb18030"
        )
    )
    report = run(engine, "customers", path)
    assert [(p.line, p.field) for p in report.problems] == [(1, None), (2, None), (3, None)]
    assert customers(engine) == {}


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_utf16_file_is_refused_saying_it_is_utf16(
    engine: Engine, tmp_path: Path, fmt: str, encoding: str
) -> None:
    """Spreadsheets save 'Unicode text' as UTF-16, with or without a byte-order mark:
    it was refused as a header 'not UTF-8', as missing every required column (its
    names read with NUL bytes between the letters) or as every line 'not valid JSON'."""
    path = tmp_path / f"c.{fmt}"
    text = (
        "id,first_name,locale,timezone\nc-1,伟,zh_CN,Asia/Shanghai\n"
        if fmt == "csv"
        else '{"id": "c-1", "first_name": "伟", "locale": "zh_CN", "timezone": "UTC"}\n'
    )
    path.write_bytes(text.encode(encoding))
    with pytest.raises(ImportFileError) as caught:
        run(engine, "customers", path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 1, None)
    assert "UTF-16 or UTF-32" in problem.message
    assert "save it as UTF-8" in problem.message
    assert customers(engine) == {}
