"""Small statistics for reports: rates, Wilson intervals and a two-proportion test.

Pure functions on counts, so every number shown in a report can be checked by hand.
"""

from __future__ import annotations

import math

Z_95 = 1.959963984540054
"""The two-sided 95% quantile of the standard normal distribution."""


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")


def wilson_interval(
    successes: int, n: int, z: float = Z_95
) -> tuple[float, float] | tuple[None, None]:
    """The Wilson score interval of successes / n (95% by default); (None, None) when n == 0."""
    _check_counts(successes, n)
    if n == 0:
        return None, None
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 of n and n of n a bound is exactly 0 or 1; rounding would leave a hair's breadth.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled z-test of x1/n1 == x2/n2; None when a group is empty."""
    _check_counts(x1, n1)
    _check_counts(x2, n2)
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (x1 / n1 - x2 / n2) / se
    return min(1.0, math.erfc(abs(z) / math.sqrt(2)))


def rate(x: int, n: int) -> float | None:
    """x / n, or None when there is nothing to divide by."""
    return x / n if n else None


def median(values: list[float]) -> float | None:
    """The median of values (the mean of the middle two for an even count); None when empty."""
    ordered = sorted(values)
    count = len(ordered)
    if count == 0:
        return None
    middle = count // 2
    if count % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def enough(n: int, minimum: int) -> bool:
    """Whether a sample of n is big enough to show a rate (n >= minimum)."""
    return n >= minimum
