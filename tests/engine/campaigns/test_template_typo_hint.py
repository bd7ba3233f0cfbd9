"""A misspelt field in a template is named with the field it most likely meant.

Templates see plain data (``customer``, ``offer``, ``links`` ...); a typo such as
``customer.frist_name`` was reported only as Jinja words it, ``'dict object' has no
attribute 'frist_name'``, which does not say what to write instead. ``campaigns
validate`` now adds ``did you mean 'first_name'?`` when a field of that object is
close; a name close to none gets no guess. The real command runs in a scratch folder.
"""

from __future__ import annotations

from pathlib import Path

from factories import run_rapport

CAMPAIGN = "name: Wishes\ntrigger: {type: birthday}\ntopic: birthday\nchannels: [email]\n"
SUBJECT = "Happy birthday!\n"


def validate_with_body(tmp_path: Path, line: str) -> list[str]:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "wishes.yaml").write_text(CAMPAIGN, encoding="utf-8")
    folder = tmp_path / "templates" / "wishes" / "en"
    folder.mkdir(parents=True)
    (folder / "email_subject.txt").write_text(SUBJECT, encoding="utf-8")
    (folder / "email.txt").write_text(
        f"Hello,\n\n{line}\n{{{{ links.preferences }}}}\n{{{{ links.unsubscribe }}}}\n"
        "{{ sender.postal_address }}\n",
        encoding="utf-8",
    )
    (tmp_path / "config.yaml").write_text("database: {url: 'sqlite:///rapport.db'}\n")
    ran = run_rapport("campaigns", "validate", cwd=tmp_path)
    assert ran.returncode == 1, ran.stdout
    return [
        line
        for line in ran.stderr.splitlines()
        if line.startswith("templates/wishes/en/email.txt:3:")
    ]


def test_a_misspelt_customer_field_is_named_with_the_field_it_meant(tmp_path: Path) -> None:
    found = validate_with_body(tmp_path, "{{ customer.frist_name }}")
    assert found == [
        "templates/wishes/en/email.txt:3: 'dict object' has no attribute 'frist_name';"
        " did you mean 'first_name'?"
    ]


def test_a_field_close_to_none_gets_no_guess(tmp_path: Path) -> None:
    found = validate_with_body(tmp_path, "{{ customer.loyalty_points_balance }}")
    assert found == [
        "templates/wishes/en/email.txt:3: 'dict object' has no attribute 'loyalty_points_balance'"
    ]
