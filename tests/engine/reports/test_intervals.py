"""The 95 % interval of uplift and of every A/B difference (issue 18, point 7).

Pinned three ways: to the worked examples Newcombe published for his method 10, to an
independent computation written here (each Wilson limit found as a root of the score
equation by bisection, with the normal quantile from the standard library), and by the
properties an interval must have at the extremes (0/n, n/n, equal arms) and as counts
move (monotonicity). A wrong lower or upper bound fails the first two.
"""

from __future__ import annotations

import itertools
import math
import random
from statistics import NormalDist

import pytest

from rapport.engine.reports.figures import uplift
from rapport.engine.reports.intervals import METHOD, difference, newcombe, wilson

#: Newcombe, R. G. (1998). Interval estimation for the difference between independent
#: proportions: comparison of eleven methods. Statistics in Medicine 17, 873-890.
#: Table II, method 10 (score interval, no continuity correction), 95 % limits.
NEWCOMBE_TABLE_II = [
    # (x1, n1, x2, n2), difference, lower, upper
    ((56, 70, 48, 80), 0.2000, 0.0524, 0.3339),
    ((9, 10, 3, 10), 0.6000, 0.1705, 0.8090),
    ((6, 7, 2, 7), 0.5714, 0.0582, 0.8062),
    ((5, 56, 0, 29), 0.0893, -0.0381, 0.1926),
    ((0, 10, 0, 20), 0.0000, -0.1611, 0.2775),
    ((10, 10, 0, 20), 1.0000, 0.6791, 1.0000),
]

Z = NormalDist().inv_cdf(0.975)


def _root(f, low: float, high: float) -> float:  # type: ignore[no-untyped-def]
    """The root of ``f`` between ``low`` and ``high`` (signs differ there), by bisection."""
    f_low = f(low)
    for _ in range(200):
        middle = (low + high) / 2
        if (f(middle) > 0) == (f_low > 0):
            low, f_low = middle, f(middle)
        else:
            high = middle
    return (low + high) / 2


def wilson_by_bisection(x: int, n: int) -> tuple[float, float]:
    """Wilson's limits are the proportions pi with (p - pi)^2 = z^2 pi (1 - pi) / n."""
    p = x / n

    def score(pi: float) -> float:
        return (p - pi) ** 2 - Z * Z * pi * (1 - pi) / n

    lower = 0.0 if x == 0 else _root(score, 0.0, p)
    upper = 1.0 if x == n else _root(score, p, 1.0)
    return lower, upper


def newcombe_independent(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]:
    """Newcombe's method 10 as his paper writes it: delta - delta_lower, delta + delta_upper
    with delta_lower = sqrt((p1 - l1)^2 + (u2 - p2)^2), delta_upper likewise."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_by_bisection(x1, n1)
    l2, u2 = wilson_by_bisection(x2, n2)
    d = p1 - p2
    return d, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


@pytest.mark.parametrize(("counts", "expected", "lower", "upper"), NEWCOMBE_TABLE_II)
def test_newcombe_matches_the_published_worked_examples(
    counts: tuple[int, int, int, int], expected: float, lower: float, upper: float
) -> None:
    found = newcombe(*counts)
    assert [round(v, 4) for v in found] == [expected, lower, upper]


@pytest.mark.parametrize(("counts", "expected", "lower", "upper"), NEWCOMBE_TABLE_II)
def test_uplift_reports_the_published_interval(
    counts: tuple[int, int, int, int], expected: float, lower: float, upper: float
) -> None:
    found = uplift(*counts)
    assert found is not None
    assert found["method"] == METHOD
    assert (found["difference"], found["lower"], found["upper"]) == pytest.approx(
        (expected, lower, upper), abs=5e-5
    )
    assert found["messaged_rate"] == round(counts[0] / counts[1], 6)
    assert found["holdout_rate"] == round(counts[2] / counts[3], 6)


def test_wilson_matches_the_score_equation_roots() -> None:
    for n in (1, 2, 7, 10, 29, 100, 2500):
        for x in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            assert wilson(x, n) == pytest.approx(wilson_by_bisection(x, n), abs=1e-12)


def test_newcombe_equals_an_independent_computation_on_many_cases() -> None:
    rng = random.Random(18)
    cases = [(0, 1, 1, 1), (1, 1, 0, 1), (0, 5, 5, 5), (3, 3, 3, 3), (0, 4000, 0, 3)]
    for _ in range(400):
        n1, n2 = rng.randint(1, 3000), rng.randint(1, 3000)
        cases.append((rng.randint(0, n1), n1, rng.randint(0, n2), n2))
    for case in cases:
        assert newcombe(*case) == pytest.approx(newcombe_independent(*case), abs=1e-10), case


@pytest.mark.parametrize("n", [1, 10, 250])
def test_extremes_zero_and_all_converting(n: int) -> None:
    upper_of_zero = wilson(0, n)[1]
    # 0/n against 0/n and n/n against n/n: no difference, an interval around 0 that is
    # exactly as wide as the Wilson limits allow, symmetric when the groups are equal.
    assert newcombe(0, n, 0, n) == pytest.approx((0.0, -upper_of_zero, upper_of_zero))
    assert newcombe(n, n, n, n) == pytest.approx((0.0, -upper_of_zero, upper_of_zero))
    # n/n against 0/n: the difference is 1 and the upper limit reaches it exactly.
    d, lower, upper = newcombe(n, n, 0, n)
    assert (d, upper) == (1.0, 1.0)
    assert lower == pytest.approx(1 - math.hypot(upper_of_zero, upper_of_zero))
    assert 0 < lower < 1 or n == 1
    d, lower, upper = newcombe(0, n, n, n)
    assert (d, lower) == (-1.0, -1.0)
    assert upper == pytest.approx(-1 + math.hypot(upper_of_zero, upper_of_zero))


def test_equal_arms_give_an_interval_symmetric_around_zero() -> None:
    for x, n in ((1, 10), (5, 10), (7, 9), (120, 1000)):
        d, lower, upper = newcombe(x, n, x, n)
        assert d == 0
        assert lower == pytest.approx(-upper)
        assert lower < 0 < upper


def test_interval_holds_its_estimate_and_stays_in_range() -> None:
    for x1, x2 in itertools.product(range(0, 13), range(0, 8)):
        d, lower, upper = newcombe(x1, 12, x2, 7)
        assert -1 <= lower <= d <= upper <= 1
        assert lower < d or d == -1
        assert d < upper or d == 1


def test_limits_move_with_the_counts() -> None:
    """More conversions in the first group raise both limits, more in the second lower
    them, and more trials at the same rates narrow the interval."""
    for x2 in (0, 4, 9):
        limits = [newcombe(x1, 20, x2, 15)[1:] for x1 in range(21)]
        assert all(a[0] < b[0] and a[1] < b[1] for a, b in itertools.pairwise(limits))
    for x1 in (0, 6, 20):
        limits = [newcombe(x1, 20, x2, 15)[1:] for x2 in range(16)]
        assert all(a[0] > b[0] and a[1] > b[1] for a, b in itertools.pairwise(limits))
    widths = [
        (lambda found: found[2] - found[1])(newcombe(3 * k, 10 * k, 2 * k, 10 * k))
        for k in (1, 2, 5, 10, 100)
    ]
    assert widths == sorted(widths, reverse=True)


def test_an_empty_group_has_no_difference() -> None:
    assert difference(3, 10, 0, 0) is None
    assert difference(0, 0, 3, 10) is None
    assert uplift(3, 10, 0, 0) is None
    assert uplift(0, 0, 0, 10) is None
    with pytest.raises(ValueError, match="at least one trial"):
        newcombe(1, 0, 1, 2)


def test_difference_is_what_the_reports_show() -> None:
    """Rates to six decimals, from the same interval the independent computation gives."""
    d, lower, upper = newcombe_independent(56, 70, 48, 80)
    assert difference(56, 70, 48, 80) == {
        "difference": round(d, 6),
        "lower": round(lower, 6),
        "upper": round(upper, 6),
        "method": "newcombe-wilson-95",
    }
    assert (round(lower, 4), round(upper, 4)) == (0.0524, 0.3339)
