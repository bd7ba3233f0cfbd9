"""A discount the way Chinese shops say it: 折, the share of the price that is paid.

``8折`` is 80 % of the price (20 % off), ``85折`` 85 % (15 % off: two digits are
hundredths, the usual form), ``8.75折`` 87.5 %, ``0.5折`` 5 % (95 % off; ``5折`` would
be half price). Nothing left to pay is not ``0折`` but free: ``免费`` (``免費`` in
traditional script, given as ``free``).

A filter rather than an expression in each template: the arithmetic was copied into
forty Chinese templates, and one of its cases (100 % off) was wrong in all of them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["zhe"]


def zhe(percent_off: Any, free: str = "免费") -> str:
    """``percent_off`` (above 0, at most 100, as ``discount_percent`` is) in 折."""
    if isinstance(percent_off, bool) or not isinstance(percent_off, int | float | Decimal):
        raise TypeError(f"zhe needs a number of percent off, not {type(percent_off).__name__}")
    # The value is never in the message: a template may pass a customer's.
    try:
        off = Decimal(str(percent_off))
    except InvalidOperation:
        off = Decimal("NaN")
    if not off.is_finite() or not 0 < off <= 100:
        raise ValueError("zhe needs a discount above 0 and at most 100 percent off")
    paid = 100 - off
    if paid == 0:
        return free
    if paid % 10 == 0:
        tenths = str(int(paid // 10))
    elif paid > 10 and paid % 1 == 0:
        tenths = str(int(paid))
    else:
        tenths = format((paid / 10).normalize(), "f")
    return tenths + "折"
