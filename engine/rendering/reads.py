"""What a template set reads: whether a message could use a context variable at all.

The planning run asks before it builds a costly context value (the co-purchase index
behind ``recommendation``, a signed link per customer) and leaves out what no
template of the message reads. A wrong "no" would break a message, a wrong "yes"
only costs time, so every answer errs towards yes: a variable used other than by a
literal key (passed to a filter, looped over, a key chosen at run time) reads every
key, and a file that is missing or does not parse reads everything.

Templates share a header and a consent footer through ``{% extends %}``,
``{% include %}`` and ``{% import %}`` of files under ``templates/_partials/<locale>/``,
so a template reads what the templates it references read: they are followed
(:func:`jinja2.meta.find_referenced_templates`), recursively and through the same
loader the renderer uses, and a link shown only in a partial footer counts as read. A
reference whose name is known only at render time (``{% include variable %}``) may
be any file, and so reads everything.

Each file is parsed, and its variables and references found, once for every
question asked of it (parsing per question cost 0.4 s a planning run).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

from jinja2 import BaseLoader, Environment, meta, nodes

__all__ = ["TemplateReads", "reads_name"]


@dataclass(frozen=True, slots=True)
class _File:
    """What one template file says about the variables it reads."""

    tree: nodes.Template
    #: Variables the file reads from its context (``meta.find_undeclared_variables``).
    undeclared: frozenset[str]
    #: Templates it extends, includes or imports; None if a name is only known at run time.
    references: tuple[str, ...] | None


class TemplateReads:
    """Answers "does any of these templates read ``name``?", one parse per file.

    Files are named as the loader names them (``birthday/fa/email.html``,
    ``_partials/fa/footer.html``). Safe to share between threads: the cache only ever
    gains equivalent entries.
    """

    def __init__(self, loader: BaseLoader) -> None:
        self._loader = loader
        self._files: dict[str, _File] = {}

    def reads(self, environment: Environment, templates: Iterable[str], name: str) -> bool:
        """Whether ``templates``, or any template they reference, read ``name``.

        ``name`` is a variable (``"recommendation"``) or one key of it
        (``"links.feedback"``). Raises ``TemplateNotFound`` (an ``OSError``) and
        ``TemplateSyntaxError`` for a file that cannot be read or parsed, which the
        caller takes as a yes.
        """
        pending = list(templates)
        seen: set[str] = set()
        while pending:
            template = pending.pop()
            if template in seen:
                continue
            seen.add(template)
            file = self._file(environment, template)
            if file.references is None or reads_name(file.tree, name, file.undeclared):
                return True
            pending.extend(file.references)
        return False

    def _file(self, environment: Environment, template: str) -> _File:
        file = self._files.get(template)
        if file is None:
            source, filename, _ = self._loader.get_source(environment, template)
            tree = environment.parse(source, template, filename)
            found = tuple(meta.find_referenced_templates(tree))
            references = None if None in found else tuple(n for n in found if n is not None)
            undeclared = frozenset(meta.find_undeclared_variables(tree))
            file = self._files[template] = _File(tree, undeclared, references)
        return file


def reads_name(tree: nodes.Template, name: str, undeclared: frozenset[str]) -> bool:
    """Whether a parsed template reads ``name`` or, for ``"variable.key"``, that key.

    ``undeclared`` is the template's ``meta.find_undeclared_variables``. A key is read
    through ``variable.key`` or ``variable["key"]``; any other use of the variable
    (passed to a filter, looped over, another key chosen at run time) may read every
    key, and so counts as reading it.
    """
    variable, _, key = name.partition(".")
    if variable not in undeclared:
        return False
    if not key:
        return True
    keyed: set[int] = set()
    found_keys = tree.find_all((nodes.Getattr, nodes.Getitem))
    for node in cast("Iterator[nodes.Getattr | nodes.Getitem]", found_keys):
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name == variable):
            continue
        if isinstance(node, nodes.Getattr):
            chosen = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            chosen = node.arg.value
        else:
            return True
        if chosen == key:
            return True
        keyed.add(id(target))
    return any(
        id(found) not in keyed for found in tree.find_all(nodes.Name) if found.name == variable
    )
