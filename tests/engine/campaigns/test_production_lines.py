"""What `production: true` refuses in config.yaml (and a trial set-up is warned of) is
reported at the line of the key the file writes, as every other configuration problem
is: `campaigns validate` printed "config.yaml: web.base_url 'http://...' is not HTTPS"
without the line where it is written."""

from __future__ import annotations

from pathlib import Path

from rapport.engine.campaigns.validate import check_configuration
from rapport.engine.core.config import load_settings

CONFIG = """\
production: true
web:
  base_url: http://shop.example.org
sender:
  postal_address: Rapport, 1 Example Street, Example City
"""


def located(tmp_path: Path, text: str) -> list[tuple[int | None, str]]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    report = check_configuration(load_settings(path, environ={}), str(path), read=True)
    found = report.problems or report.warnings
    return [(problem.line, problem.message.split(" ", 1)[0]) for problem in found]


def test_production_refusals_name_the_line_of_each_key_written(tmp_path: Path) -> None:
    assert located(tmp_path, CONFIG) == [
        (3, "web.base_url"),
        (None, "sender.from_address"),
        (None, "sender.unsubscribe_mailto"),
        (None, "sender.contact"),
        (None, "sender.message_id_domain"),
        (5, "sender.postal_address"),
    ]


def test_trial_warnings_name_the_line_of_each_key_written(tmp_path: Path) -> None:
    text = CONFIG.replace("production: true", "production: false")

    assert located(tmp_path, text)[0] == (3, "web.base_url")
