"""Files in a template folder named like a template but not as one.

A message's parts are read by their exact names (``email_subject.txt``, ``email.txt``,
``email.html``, ``sms.txt``; engine/rendering/renderer.py). A file named close to one
of them (``email.htm``, ``sms.text``, ``Email.txt``, ``email-subject.txt``) was never
read: an HTML body so named vanished from every e-mail (HTML is optional) while
``campaigns validate`` said the campaigns were valid. Such a file is a problem at its
path, naming the template meant. Other files are left alone: a piece another template
includes (``_gift.html``), an editor's backup (``sms.txt~``), a system file.
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
    for path in sorted(folder.iterdir()):
        name = path.name
        if name in TEMPLATE_NAMES or name.startswith(".") or not path.is_file():
            continue
        if any(name.startswith(template) for template in TEMPLATE_NAMES):
            continue  # sms.txt~, sms.txt.orig: a backup beside the template
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
