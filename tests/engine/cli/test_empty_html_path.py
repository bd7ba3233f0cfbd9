"""An empty --html "" is a usage error naming the option, as an empty --config is: the
report and the preview page tried to write the current folder ("cannot write .: Is a
directory", exit 1), and the preview named no path at all ("cannot write : ...")."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import run_rapport


@pytest.mark.parametrize(
    "command", [("report", "--html", ""), ("preview", "birthday", "--html", " ")]
)
def test_an_empty_html_path_is_a_usage_error_naming_the_option(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "config.yaml").write_text("", encoding="utf-8")

    ran = run_rapport(*command, cwd=tmp_path)

    assert ran.returncode == 2, ran.stderr
    assert "Invalid value for '--html': empty: name the file to write" in ran.stderr
