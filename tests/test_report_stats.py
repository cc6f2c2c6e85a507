"""Report statistics against reference values worked out independently of the code.

Reference values (checked two ways, see each test):
- Wilson bounds: the closed form, and separately the roots of (p_hat - p)^2 = z^2 p (1 - p) / n
  found by bisection; the edge cases also follow in closed form (0/n -> upper z^2 / (n + z^2),
  n/n -> lower n / (n + z^2)), with z = 1.959963984540054.
- The two-proportion p-value: z from the pooled standard error, and separately from the 2x2
  chi-square statistic N (ad - bc)^2 / (r1 r2 c1 c2) (chi^2 = z^2); the tail by Simpson
  integration of the normal density (20,000 steps) instead of erfc. 30/100 vs 45/100 is
  chi^2 = 4.8 exactly, p = 0.0285 in any chi-square table (1 degree of freedom).
"""

from __future__ import annotations

import pytest

from portal.reports.stats import (
    Z_95,
    enough,
    median,
    rate,
    two_proportion_test,
    wilson_interval,
)


def test_z_is_the_two_sided_95_quantile():
    from statistics import NormalDist

    assert NormalDist().inv_cdf(0.975) == pytest.approx(Z_95, abs=1e-12)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (8, 10, 0.490162, 0.943318),  # the textbook 0.4902 .. 0.9433
        (5, 10, 0.236593, 0.763407),  # symmetric around 0.5
        (0, 10, 0.0, 0.277533),  # upper = z^2 / (10 + z^2)
        (10, 10, 0.722467, 1.0),  # lower = 10 / (10 + z^2)
        (1, 1, 0.206549, 1.0),  # lower = 1 / (1 + z^2)
        (0, 1, 0.0, 0.793451),  # upper = z^2 / (1 + z^2)
        (81, 263, 0.255289, 0.366210),
    ],
)
def test_wilson_interval_known_values(successes, n, low, high):
    got_low, got_high = wilson_interval(successes, n)
    assert round(got_low, 4) == round(low, 4)
    assert round(got_high, 4) == round(high, 4)
    assert got_low == pytest.approx(low, abs=1e-6)
    assert got_high == pytest.approx(high, abs=1e-6)


def test_wilson_interval_stays_within_zero_and_one():
    for n in range(1, 60):
        for successes in range(n + 1):
            low, high = wilson_interval(successes, n)
            assert 0.0 <= low <= successes / n <= high <= 1.0
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0


def test_wilson_interval_of_nothing_is_unknown():
    assert wilson_interval(0, 0) == (None, None)


def test_wilson_interval_narrows_with_more_data_and_widens_with_z():
    small = wilson_interval(8, 10)
    large = wilson_interval(80, 100)
    assert large[1] - large[0] < small[1] - small[0]
    wide = wilson_interval(8, 10, z=2.5758293035489004)  # 99%
    assert wide[0] < small[0] and wide[1] > small[1]


@pytest.mark.parametrize(("successes", "n"), [(-1, 10), (11, 10), (0, -1)])
def test_wilson_interval_rejects_impossible_counts(successes, n):
    with pytest.raises(ValueError):
        wilson_interval(successes, n)


@pytest.mark.parametrize(
    ("counts", "p_value"),
    [
        ((30, 100, 45, 100), 0.028460),  # z = 2.19089, chi^2 = 4.8
        ((10, 50, 20, 50), 0.029096),  # z = 2.18218, chi^2 = 4.7619
        ((15, 40, 5, 40), 0.009823),  # z = 2.58199, chi^2 = 6.6667
        ((1, 2, 0, 2), 0.248213),  # z = 1.15470, chi^2 = 1.3333
    ],
)
def test_two_proportion_test_known_values(counts, p_value):
    assert two_proportion_test(*counts) == pytest.approx(p_value, abs=1e-6)


def test_two_proportion_test_is_symmetric():
    assert two_proportion_test(30, 100, 45, 100) == two_proportion_test(45, 100, 30, 100)
    assert round(two_proportion_test(45, 100, 30, 100), 4) == 0.0285


def test_two_proportion_test_equal_proportions_give_one():
    assert two_proportion_test(20, 50, 40, 100) == pytest.approx(1.0)
    assert two_proportion_test(3, 10, 3, 10) == pytest.approx(1.0)


def test_two_proportion_test_without_variance_gives_one():
    assert two_proportion_test(0, 10, 0, 25) == 1.0
    assert two_proportion_test(10, 10, 4, 4) == 1.0


def test_two_proportion_test_without_data_is_unknown():
    assert two_proportion_test(0, 0, 3, 10) is None
    assert two_proportion_test(3, 10, 0, 0) is None
    assert two_proportion_test(0, 0, 0, 0) is None


def test_two_proportion_test_extreme_difference_is_tiny_but_valid():
    p = two_proportion_test(0, 1000, 1000, 1000)
    assert 0.0 <= p < 1e-100


def test_two_proportion_test_rejects_impossible_counts():
    with pytest.raises(ValueError):
        two_proportion_test(11, 10, 3, 10)


def test_rate():
    assert rate(3, 4) == 0.75
    assert rate(0, 5) == 0.0
    assert rate(0, 0) is None


def test_median():
    assert median([]) is None
    assert median([4.0]) == 4.0
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5
    assert median([1.5, -2.0]) == pytest.approx(-0.25)


def test_median_leaves_its_input_alone():
    values = [3, 1, 2]
    median(values)
    assert values == [3, 1, 2]


def test_enough():
    assert enough(10, 10)
    assert enough(11, 10)
    assert not enough(9, 10)
    assert enough(0, 0)
