"""What one message's templates may spend: time, and memory they ask for.

A marketer's template is untrusted code, and the sandbox alone bounds neither how
long it runs nor how much it allocates: nested ``range(100000)`` loops print nothing
and run for minutes, ``'a'|center(10**9)`` asks for a gigabyte in one call. A
:class:`Budget` is opened around each message's render (see
:func:`rapport.engine.rendering.sandbox.render_capped`) and charged by the sandbox:

- **time**: every loop iteration and every macro call ticks
  (:mod:`~rapport.engine.rendering.codegen` compiles the tick into the template),
  and a tick past the deadline stops the render with :class:`TemplateTooSlow`;
- **memory**: the process's resident size may not grow by more than the budget
  while a message renders (read every few hundred ticks: this catches whatever no
  guard measures); besides, each string, list or number a template makes is charged its size, and
  the ones whose size can be known in advance (repetition, padding, widths, joins,
  concatenation) are charged *before* they are made, so an oversized one is refused
  without being allocated (:class:`TemplateTooLarge`). Charges add up over the
  render, freed values included: a template that makes 64 MB of strings for one
  message is refused even if it drops them as it goes. No single value may be larger
  than :attr:`Limits.max_value_chars`, so no one allocation is more than a fraction
  of the budget.

The budget lives in a context variable, so renders in several threads each have
their own. Code that runs outside any render (Jinja folding constants while it
compiles a template) is still held to the per-value size, by
:func:`rapport.engine.rendering.guards`, just not to a deadline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jinja2.exceptions import SecurityError

__all__ = [
    "DEFAULT_LIMITS",
    "Budget",
    "BudgetExceeded",
    "Limits",
    "OutputBuffer",
    "TemplateTooLarge",
    "TemplateTooSlow",
    "active",
    "charge",
    "size_of",
    "spending",
    "tick",
    "ticking",
]

#: Bytes a character may take in a string of unknown content (CPython's widest kind).
WIDE = 4
#: Bytes charged per item of a list, tuple or dict: the reference, and the object an
#: item usually is (a one-character string, a small number, a lowercased copy).
PER_ITEM = 64
#: Bytes charged per loop iteration or macro call (see :meth:`Budget.tick`).
TICK_BYTES = 16


class BudgetExceeded(SecurityError):
    """A template went past one of its message's limits; the message says which."""


class TemplateTooSlow(BudgetExceeded):
    """Rendering took longer than ``template_limits.max_seconds``."""


class TemplateTooLarge(BudgetExceeded):
    """A template asked for more memory than ``template_limits.max_memory_mb`` allows."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The configured limits (``template_limits`` in config.yaml), per message."""

    max_seconds: float = 1.0
    max_memory_mb: int = 64

    @property
    def max_bytes(self) -> int:
        return self.max_memory_mb * 1024 * 1024

    @property
    def max_value_chars(self) -> int:
        """The most characters (or items) one string (or list) a template makes may
        hold: a 256th of the budget, 262,144 at 64 MB.

        Small enough that no single operation on it takes long or allocates much more
        than the budget: filters such as ``sort``, ``title`` or ``list`` make a Python
        object of 50 to 150 bytes per character or item.
        """
        return self.max_bytes // 256


#: The defaults of ``template_limits`` in config.yaml.
DEFAULT_LIMITS = Limits()


@dataclass(slots=True)
class Budget:
    """One render's remaining allowance; charged by the sandbox, never by templates."""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    deadline: float = field(init=False)
    spent: int = field(init=False, default=0)
    ticks: int = field(init=False, default=0)
    resident: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.deadline = self.clock() + self.limits.max_seconds
        self.resident = resident_bytes()

    def grown(self) -> None:
        """What the charges cannot see (a value kept alive by something no guard
        measures), the process's own size shows: past the budget, the render stops."""
        grown = resident_bytes() - self.resident
        if grown > self.limits.max_bytes:
            raise TemplateTooLarge(
                f"rendering grew the process by {grown // 2**20} MB, past the "
                f"{self.limits.max_memory_mb} MB memory limit (template_limits.max_memory_mb)"
            )

    def tick(self) -> None:
        # Each iteration may keep a chunk of output in a {% set %} block's buffer (a
        # reference, plus the chunk's own bytes when it is made): charged here, which
        # also caps the iterations a message can run, whatever the machine's speed.
        self.spent += TICK_BYTES
        self.ticks += 1
        if not self.ticks & (RESIDENT_EVERY - 1):
            self.grown()
        if self.spent > self.limits.max_bytes:
            raise TemplateTooLarge(
                "loops and macro calls here run too many times: each may keep output, "
                f"and together they pass the {self.limits.max_memory_mb} MB memory limit "
                "(template_limits.max_memory_mb)"
            )
        if self.clock() > self.deadline:
            raise TemplateTooSlow(
                f"rendering took longer than {self.limits.max_seconds:g} s "
                "(template_limits.max_seconds); a loop or macro here runs too long"
            )

    def charge(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` about to be (or just) allocated for ``what``."""
        self.spent += nbytes
        if self.spent > self.limits.max_bytes:
            raise TemplateTooLarge(
                f"{what} takes the render past its memory limit of "
                f"{self.limits.max_memory_mb} MB (template_limits.max_memory_mb)"
            )


#: Ticks between two readings of the process's resident size (a power of two).
RESIDENT_EVERY = 256
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
#: The file descriptor of /proc/self/statm, opened by this process (/proc/self is the
#: opening process: a forked child opens its own, see _forget_statm).
_statm: int | None = None


def resident_bytes() -> int:
    """The process's resident set size, from /proc (0 where there is none). Read at the
    start of every render: one ``pread``, without asking the process id each time."""
    global _statm
    if _statm is None:
        try:
            _statm = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return 0
    return int(os.pread(_statm, 64, 0).split()[1]) * _PAGE


def _forget_statm() -> None:
    """In a forked child: the inherited descriptor reads the parent's size."""
    global _statm
    if _statm is not None:
        with suppress(OSError):
            os.close(_statm)
    _statm = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_statm)


_ACTIVE: ContextVar[Budget | None] = ContextVar("rapport_template_budget", default=None)


def active() -> ContextVar[Budget | None]:
    """The context variable holding the current render's budget (None outside one)."""
    return _ACTIVE


@contextmanager
def spending(limits: Limits, clock: Callable[[], float] = time.monotonic) -> Iterator[Budget]:
    """A budget for what runs inside, unless one is open already (a message's parts
    share their message's)."""
    current = _ACTIVE.get()
    if current is not None:
        yield current
        return
    opened = Budget(limits, clock)
    token = _ACTIVE.set(opened)
    try:
        yield opened
    finally:
        _ACTIVE.reset(token)


def in_time() -> None:
    """Stop the render if its time is up, charging nothing (called by every guarded
    call and filter: one expression may call many)."""
    budget = _ACTIVE.get()
    if budget is not None and budget.clock() > budget.deadline:
        budget.tick()  # raises, with the message


def grown() -> None:
    """Stop the render if the process has grown past its budget (see Budget.grown)."""
    budget = _ACTIVE.get()
    if budget is not None:
        budget.grown()


def tick() -> None:
    """Stop the render if its time is up; compiled into every loop and macro."""
    budget = _ACTIVE.get()
    if budget is not None:
        budget.tick()


def ticking(iterable: Iterable[Any]) -> Iterator[Any]:
    """``iterable``, ticking before each item: what a template's ``for`` loops over."""
    budget = _ACTIVE.get()
    if budget is None:
        yield from iterable
        return
    check = budget.tick
    for item in iterable:
        check()
        yield item


def charge(nbytes: int, what: str) -> None:
    """Charge the current render (if any) for ``nbytes`` of ``what``."""
    budget = _ACTIVE.get()
    if budget is not None:
        budget.charge(nbytes, what)


class OutputBuffer(list[str]):
    """What a ``{% set %}`` block, a macro or a ``{% call %}`` collects before it is
    joined: a list that charges each chunk's length as it is kept.

    Output at the top of a template is measured by the renderer as it streams; output
    collected in a buffer is kept until the block ends, so it is charged here, chunk by
    chunk, and a loop filling a block is stopped when the budget is spent.
    """

    __slots__ = ("_budget",)

    def __init__(self) -> None:
        super().__init__()
        self._budget = _ACTIVE.get()

    def append(self, chunk: str) -> None:
        budget = self._budget
        if budget is not None:
            budget.charge(len(chunk), "output collected here")
        super().append(chunk)

    def extend(self, chunks: Iterable[str]) -> None:
        chunks = tuple(chunks)
        budget = self._budget
        if budget is not None:
            budget.charge(sum(map(len, chunks)), "output collected here")
        super().extend(chunks)


def size_of(value: Any) -> int:
    """Bytes to charge for a value a template made: strings by their real width,
    containers by their items (:data:`PER_ITEM`), integers by their digits."""
    if isinstance(value, str):
        return len(value) * (1 if value.isascii() else WIDE)
    if isinstance(value, list | tuple | dict | set | frozenset):
        return len(value) * PER_ITEM
    if isinstance(value, int):
        return value.bit_length() // 8
    if isinstance(value, bytes | bytearray):
        return len(value)
    return 0
