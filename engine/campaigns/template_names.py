"""Files in a template folder named like a template but not as one.

A message's parts are read by their exact names (``email_subject.txt``, ``email.txt``,
``email.html``, ``sms.txt``; engine/rendering/renderer.py). A file named close to one
of them (``email.htm``, ``sms.text``, ``Email.txt``, ``email-subject.txt``) was never
read: an HTML body so named vanished from every e-mail (HTML is optional) while
``campaigns validate`` said the campaigns were valid. Such a file is a problem at its
path, naming the template meant. Other files are left alone: a piece another template
includes (``_gift.html``, or any file another of the folder names), an editor's
backup (``sms.txt~``), a system file.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from rapport.engine.core.errors import Problem
from rapport.engine.rendering.renderer import EMAIL_HTML, EMAIL_SUBJECT, EMAIL_TEXT, SMS_TEXT

__all__ = ["misnamed_templates"]

TEMPLATE_NAMES = (EMAIL_SUBJECT, EMAIL_TEXT, EMAIL_HTML, SMS_TEXT)


def misnamed_templates(folder: Path, shown: str) -> list[Problem]:
    """Problems for the files of ``folder`` (shown as ``shown``) named close to a
    template's name."""
    if not folder.is_dir():
        return []
    problems = []
    files = sorted(path for path in folder.iterdir() if path.is_file())
    for path in files:
        name = path.name
        if name in TEMPLATE_NAMES or name.startswith("."):
            continue
        if any(name.startswith(template) for template in TEMPLATE_NAMES):
            continue  # sms.txt~, sms.txt.orig: a backup beside the template
        if _named_by_another(path, files):
            continue  # a piece a template includes or extends, whatever its name
        meant = [t for t in TEMPLATE_NAMES if t == name.lower()]
        meant = meant or difflib.get_close_matches(name, TEMPLATE_NAMES, n=1, cutoff=0.8)
        if meant:
            problems.append(
                Problem(
                    f"{shown}/{name}",
                    None,
                    f"not a template name, so this file is never read; did you mean "
                    f"{meant[0]!r}? (a template folder holds {', '.join(TEMPLATE_NAMES)})",
                )
            )
    return problems


def _named_by_another(path: Path, files: list[Path]) -> bool:
    """Whether another file of the folder names ``path`` (``{% include
    "promo/en/sms2.txt" %}``): a template may include or extend any file under
    templates/, so such a file is read."""
    return any(
        path.name in other.read_text(encoding="utf-8", errors="replace")
        for other in files
        if other != path and other.stat().st_size <= _MAX_READ
    )


#: Template files are small; a larger file is not read for the names it holds.
_MAX_READ = 1024 * 1024
