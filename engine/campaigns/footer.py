"""What every marketing e-mail body shows besides the preference link (which
:mod:`rapport.engine.campaigns.validate` requires): the sender's postal address, which
commercial e-mail must give (CAN-SPAM), and the unsubscribe link. The shipped footers
(``templates/_partials/<locale>/footer.txt`` and ``layout.html``) carry both; a body
that lost them (an edited footer, a template that does not include it) is a warning of
``campaigns validate``, at its file."""

from __future__ import annotations

from markupsafe import escape

from rapport.engine.core.errors import Problem
from rapport.engine.rendering.renderer import EMAIL_HTML, EMAIL_TEXT

__all__ = ["footer_warnings"]


def footer_warnings(file: str, part: str, output: str, context: dict[str, object]) -> list[Problem]:
    """Warnings for an e-mail body ``output`` (rendered from ``context``) that does not
    show the postal address or the unsubscribe link."""
    if part not in (EMAIL_TEXT, EMAIL_HTML):
        return []
    links, sender = context.get("links"), context.get("sender")
    wanted = []
    if isinstance(sender, dict) and isinstance(address := sender.get("postal_address"), str):
        wanted.append((address, "{{ sender.postal_address }}", "the sender's postal address"))
    if isinstance(links, dict) and isinstance(link := links.get("unsubscribe"), str):
        wanted.append((link, "{{ links.unsubscribe }}", "the unsubscribe link"))
    return [
        Problem(
            file,
            None,
            f"the e-mail does not show {what}, which every footer carries: add {variable} "
            "(or include the shipped footer)",
        )
        for value, variable, what in wanted
        if value not in output and str(escape(value)) not in output
    ]
