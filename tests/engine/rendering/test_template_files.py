"""A template file the loader cannot use (not UTF-8, too large) is reported at its own
file, with the reason, whether it is a campaign's part or a partial it includes.

A careless marketer saves a template in Windows-1252 or Latin-1: the file used to stop
``campaigns validate``, ``preview`` and ``plan`` alike with 'unexpected error ...
UnicodeDecodeError' (exit 3), and a plan of every campaign with it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import REPO, run_rapport

from rapport.engine.rendering.errors import TemplateProblemError
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.rendering.sandbox import MAX_TEMPLATE_BYTES
from rapport.engine.rendering.sms_encoding import count_sms

#: "Café" in Latin-1, on the file's second line.
LATIN_1 = b"Hi\nCaf\xe9 {{ customer.first_name }}, reply STOP to opt out\n"


def write(root: Path, files: dict[str, bytes]) -> Renderer:
    for name, data in files.items():
        path = root / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Renderer(root / "templates", "en")


def refused(renderer: Renderer) -> TemplateProblemError:
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {"customer": {"first_name": "Ann"}})
    return caught.value


def test_a_template_not_in_utf8_is_refused_at_its_line(tmp_path: Path) -> None:
    problem = refused(write(tmp_path, {"promo/en/sms.txt": LATIN_1})).problem
    assert problem.file.endswith("promo/en/sms.txt"), problem
    assert problem.line == 2, problem
    assert "not UTF-8" in problem.message and "0xe9" in problem.message, problem


def test_a_partial_not_in_utf8_is_refused_at_the_partials_line(tmp_path: Path) -> None:
    renderer = write(
        tmp_path,
        {
            "promo/en/sms.txt": b"Hi\n{% include '_partials/en/bit.txt' %}",
            "_partials/en/bit.txt": LATIN_1,
        },
    )
    problem = refused(renderer).problem
    assert problem.file.endswith("_partials/en/bit.txt"), problem
    assert problem.line == 2, problem
    assert "not UTF-8" in problem.message, problem


def test_an_included_file_too_large_is_reported_as_too_large_not_as_missing(
    tmp_path: Path,
) -> None:
    renderer = write(
        tmp_path,
        {
            "promo/en/sms.txt": b"Hi\n{% include '_partials/en/big.txt' %} STOP",
            "_partials/en/big.txt": b"x" * (MAX_TEMPLATE_BYTES + 1),
        },
    )
    problem = refused(renderer).problem
    assert "a template file may hold at most" in problem.message, problem
    assert "no template" not in problem.message, problem


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[], Path]:
    """The shipped campaigns and templates, the birthday SMS saved in Latin-1."""
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    (tmp_path / "templates/birthday/en/sms.txt").write_bytes(LATIN_1)
    (tmp_path / "config.yaml").write_text("database: {url: 'sqlite:///rapport.db'}\n")
    return lambda: tmp_path


def test_validate_reports_a_template_not_in_utf8_as_a_problem(tree: Callable[[], Path]) -> None:
    ran = run_rapport("campaigns", "validate", cwd=tree())
    assert ran.returncode == 1, ran.stderr
    assert "templates/birthday/en/sms.txt:2: " in ran.stderr, ran.stderr
    assert "unexpected error" not in ran.stderr, ran.stderr


def test_a_byte_order_mark_opening_a_template_is_not_part_of_the_message(tmp_path: Path) -> None:
    # Notepad's "UTF-8 with BOM": U+FEFF first made every SMS UCS-2 (70 characters a
    # segment instead of 160) and opened every subject with an invisible character.
    bom = "\ufeff".encode()
    renderer = write(
        tmp_path,
        {
            "promo/en/sms.txt": bom + b"Hi {{ customer.first_name }}, reply STOP to opt out",
            "promo/en/email_subject.txt": bom + b"Hello",
            "promo/en/email.txt": bom + b'Hi\n{% include "_partials/en/end.txt" %}',
            "_partials/en/end.txt": bom + b"Bye",
        },
    )
    context = {"customer": {"first_name": "Ann"}}
    sms = renderer.render("promo", "sms", "en", context).text
    assert sms == "Hi Ann, reply STOP to opt out"
    assert count_sms(sms).encoding == "GSM-7"
    email = renderer.render("promo", "email", "en", context)
    assert (email.subject, email.text) == ("Hello", "Hi\nBye")


def test_the_source_validate_points_into_is_the_one_the_loader_reads(tmp_path: Path) -> None:
    # validate finds a problem's line in source_of(); with the mark kept, a file's first
    # line never read as a statement, and problems pointed a line too early.
    renderer = write(tmp_path, {"promo/en/sms.txt": "\ufeff{% set a = 1 %}\nHi STOP".encode()})
    assert renderer.source_of("promo", "sms.txt", "en") == "{% set a = 1 %}\nHi STOP"


REFUSED = {
    "not UTF-8": LATIN_1,
    "too large": b"x" * (MAX_TEMPLATE_BYTES + 1),
}


@pytest.mark.parametrize("partial", REFUSED.values(), ids=REFUSED.keys())
def test_ignore_missing_does_not_hide_a_partial_that_is_there_but_refused(
    tmp_path: Path, partial: bytes
) -> None:
    # 'ignore missing' is for a file that is not there; one that is there but cannot be
    # read (a footer saved in Latin-1) was dropped from every message without a word.
    renderer = write(
        tmp_path,
        {
            "promo/en/sms.txt": b"Hi\n{% include '_partials/en/end.txt' ignore missing %} STOP",
            "_partials/en/end.txt": partial,
        },
    )
    assert refused(renderer).problem.message
    assert renderer.reads("promo", "sms", "en", "customer") is True  # no raise
