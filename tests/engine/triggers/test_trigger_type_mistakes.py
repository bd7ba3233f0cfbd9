"""A trigger's ``type`` written wrong is reported at the line of ``type``, in the
words every other key uses: pydantic's own message ("Unable to extract tag using
discriminator 'type'", "Input tag ... found using 'type' does not match any of the
expected tags") pointed at the ``trigger:`` line and named no key."""

from __future__ import annotations

from pathlib import Path

from tests.engine.triggers.conftest import HEADER, load_problems

TYPES = (
    "'birthday', 'anniversary', 'holiday', 'reorder', 'welcome', 'winback', "
    "'tier_reached', 'feedback', 'recurring', 'event'"
)


def test_a_misspelt_trigger_type_is_reported_at_its_line_with_the_types(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, HEADER + "trigger:\n  type: birthdayy\n")

    assert problems == [
        f"t.yaml:5: trigger.type: 'birthdayy' is not a known type; did you mean "
        f"'birthday'? one of {TYPES}"
    ]


def test_a_trigger_type_that_is_no_text_is_reported_at_its_line(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, HEADER + "trigger:\n  days_before: 1\n  type: 5\n")

    assert problems == [f"t.yaml:6: trigger.type: 5 is not a known type; one of {TYPES}"]


def test_a_misspelt_type_key_is_reported_as_missing_naming_the_key_written(
    tmp_path: Path,
) -> None:
    problems = load_problems(tmp_path, HEADER + "trigger:\n  typ: birthday\n")

    assert problems == [
        "t.yaml:4: trigger.type: required key is missing (is 'typ' on line 5 meant to be it?)"
    ]


def test_a_trigger_without_a_type_is_reported_as_missing(tmp_path: Path) -> None:
    problems = load_problems(tmp_path, HEADER + "trigger:\n  days_before: 1\n")

    assert problems == ["t.yaml:4: trigger.type: required key is missing"]
