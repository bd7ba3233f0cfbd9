"""95 % intervals for a proportion and for the difference of two proportions.

The report shows two differences of conversion rates: a campaign's messaged group
against its holdout (uplift) and each A/B variant against the control variant. Both
use :func:`newcombe`, Newcombe's hybrid score interval: method 10 of R. G. Newcombe,
"Interval estimation for the difference between independent proportions: comparison
of eleven methods", Statistics in Medicine 17 (1998) 873-890. It combines the two
Wilson score intervals (no continuity correction); unlike the Wald interval it stays
inside [-1, 1], is not empty at 0/n or n/n, and keeps close to 95 % coverage for small
groups. tests/engine/reports/test_intervals.py pins it to the paper's worked examples.
"""

from __future__ import annotations

import math
from typing import Any

#: Two-sided 95 % normal quantile.
Z95 = 1.959963984540054
#: The name the JSON report gives the method.
METHOD = "newcombe-wilson-95"


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ((0, 1) for no trials)."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """p1 - p2 and its Newcombe hybrid score interval (Newcombe 1998, method 10):

    lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

    with (l1, u1) and (l2, u2) the Wilson intervals of x1/n1 and x2/n2. Both groups
    must be non-empty."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both groups need at least one trial")
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    difference = p1 - p2
    lower = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, max(-1.0, lower), min(1.0, upper)


def _rate(value: float) -> float:
    return round(value, 6)


def difference(x1: int, n1: int, x2: int, n2: int) -> dict[str, Any] | None:
    """x1/n1 - x2/n2 with its 95 % Newcombe interval, as the report shows it (rates to
    six decimals); None when either group is empty."""
    if not n1 or not n2:
        return None
    value, lower, upper = newcombe(x1, n1, x2, n2)
    return {
        "difference": _rate(value),
        "lower": _rate(lower),
        "upper": _rate(upper),
        "method": METHOD,
    }
