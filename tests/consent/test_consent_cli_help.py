"""``rapport consent grant|withdraw --help`` describes each command's own options.

A withdrawal needs neither ``--source`` nor ``--wording`` (withdrawing stays as easy as
agreeing); its help must not call them "where the person agreed" or "required for
grant". ``--channel`` and ``--topic`` are required by both edits, and the help says so.
"""

from __future__ import annotations

from pathlib import Path

from factories import run_rapport


def help_of(command: str, tmp_path: Path) -> str:
    ran = run_rapport("consent", command, "--help", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    return " ".join(ran.stdout.split())


def test_withdraw_help_describes_source_and_wording_as_optional_evidence_of_the_withdrawal(
    tmp_path: Path,
) -> None:
    shown = help_of("withdraw", tmp_path)
    assert "agreed" not in shown
    assert "required for grant" not in shown
    assert "--source" in shown and "--wording" in shown
    assert "optional" in shown


def test_grant_and_withdraw_help_say_channel_and_topic_are_required(tmp_path: Path) -> None:
    for command in ("grant", "withdraw"):
        shown = help_of(command, tmp_path)
        assert "--channel TEXT Channel, e.g. email or sms (required)." in shown, command
        assert "--topic TEXT Topic, e.g. offers (required)." in shown, command
