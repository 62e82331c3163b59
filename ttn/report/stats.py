"""Statistics of the report: per-cell mean and standard error, t-tests between archs, Holm correction.

A cell is one (arch, training videos) pair; its values are the test accuracies of its runs, keyed by run
index. Runs with the same index train on the same videos, so two archs are compared with a paired t-test
(scipy.stats.ttest_rel) over the runs both have, when at least `MIN_PAIRS` pair up; otherwise with Welch's
t-test (scipy.stats.ttest_ind, equal_var=False) over all runs of each. Degenerate cases (too few runs, no
variance) give no p-value instead of a NaN or an error.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

#: Fewest paired runs for the paired test; below it the unpaired Welch test is used.
MIN_PAIRS = 2

PAIRED = "paired"  #: scipy.stats.ttest_rel over runs paired by index
WELCH = "welch"  #: scipy.stats.ttest_ind(equal_var=False)

#: How each test is named in captions.
TEST_NAMES = {
    PAIRED: "paired t-test (scipy.stats.ttest_rel, runs paired by index)",
    WELCH: "Welch's t-test (scipy.stats.ttest_ind, equal_var=False)",
}


@dataclass(frozen=True)
class CellStats:
    """Summary of one cell's test accuracies: mean, standard error of the mean (ddof=1; NaN if n < 2), n."""

    mean: float
    sem: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """Outcome of comparing two cells. `test` is PAIRED, WELCH or None (no test possible: see `note`)."""

    test: str | None
    statistic: float | None
    p_value: float | None
    n_pairs: int
    note: str = ""


def summarize(values: Sequence[float]) -> CellStats:
    """Mean, sem (scipy.stats.sem, ddof=1) and n of `values`; sem is NaN when n < 2, mean NaN when n == 0."""
    array = np.asarray(values, dtype=float)
    n = int(array.size)
    if n == 0:
        return CellStats(math.nan, math.nan, 0)
    from scipy import stats  # here, not at the top: scipy.stats takes ~1 s to import, and `ttn --help` imports this module

    sem = float(stats.sem(array, ddof=1)) if n >= 2 else math.nan
    return CellStats(float(array.mean()), sem, n)


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def compare(
    baseline: Mapping[int, float],
    other: Mapping[int, float],
    pairable: set[int] | None = None,
) -> Comparison:
    """Compare two cells given as {run index: accuracy}; the statistic is positive when `other` is higher.

    Runs present in both (and in `pairable`, if given: e.g. only runs whose training videos match) are
    pairs; with at least MIN_PAIRS of them the paired t-test is used on those pairs, otherwise Welch's
    t-test on all runs (needs 2 runs per cell). No variance at all gives no p-value.
    """
    from scipy import stats

    common = sorted(set(baseline) & set(other))
    if pairable is not None:
        common = [run for run in common if run in pairable]
    if len(common) >= MIN_PAIRS:
        a = np.array([baseline[run] for run in common], dtype=float)
        b = np.array([other[run] for run in common], dtype=float)
        if np.ptp(b - a) == 0:
            return Comparison(PAIRED, None, None, len(common), "the paired differences have no variance")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.ttest_rel(b, a)
        return Comparison(PAIRED, _finite_or_none(result.statistic), _finite_or_none(result.pvalue), len(common))
    a = np.array(list(baseline.values()), dtype=float)
    b = np.array(list(other.values()), dtype=float)
    if a.size < 2 or b.size < 2:
        return Comparison(None, None, None, len(common), "needs 2 runs per arch (or 2 paired runs)")
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return Comparison(WELCH, None, None, len(common), "no variance in either arch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(b, a, equal_var=False)
    return Comparison(WELCH, _finite_or_none(result.statistic), _finite_or_none(result.pvalue), len(common))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values, in the input order; None entries stay None and are not counted.

    With the m p-values sorted ascending, p_(i) becomes max over j <= i of min(1, (m - j + 1) * p_(j)).
    Rejecting where the adjusted p < alpha controls the family-wise error rate at alpha.
    """
    present = [(index, p) for index, p in enumerate(p_values) if p is not None and not math.isnan(p)]
    adjusted: list[float | None] = [None] * len(p_values)
    m = len(present)
    running = 0.0
    for rank, (index, p) in enumerate(sorted(present, key=lambda item: item[1])):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted
