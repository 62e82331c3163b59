"""Statistics of the report: per-cell mean and standard error, t-tests between archs, their 95% confidence
intervals and minimum detectable effects, Holm correction.

A cell is one (arch, training videos) pair; its values are the test accuracies of its runs, keyed by run
index. Runs with the same index train on the same videos, so two archs are compared with a paired t-test
(scipy.stats.ttest_rel) over the runs both have, when at least `MIN_PAIRS` pair up; otherwise with Welch's
t-test (scipy.stats.ttest_ind, equal_var=False) over all runs of each. Degenerate cases (too few runs, no
variance) give no p-value instead of a NaN or an error.

Every comparison states what its n could have found: the gap's 95% confidence interval (the test's own,
`TtestResult.confidence_interval`) and the minimum detectable effect (`minimum_detectable_effect`): the smallest
true gap the same test, at the same n and the observed spread, detects with 80% power at alpha 0.05, two-sided.
A gap that is not significant is a null result only as strong as that figure.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

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


#: The confidence level of every interval and the power of every minimum detectable effect (two-sided, at
#: alpha `MDE_ALPHA`), fixed rather than tied to --alpha: what a figure in a table means never changes.
CI_LEVEL = 0.95
MDE_POWER = 0.8
MDE_ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """Outcome of comparing two cells. `test` is PAIRED, WELCH or None (no test possible: see `note`).

    `difference` is other - baseline (the mean paired difference, or the difference of means for Welch),
    `ci95` its 95% confidence interval, `mde80` the minimum detectable effect at 80% power, `df` the test's
    degrees of freedom (None where the test is not possible)."""

    test: str | None
    statistic: float | None
    p_value: float | None
    n_pairs: int
    note: str = ""
    difference: float | None = None
    ci95: tuple[float, float] | None = None
    mde80: float | None = None
    df: float | None = None


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


def minimum_detectable_effect(se: float, df: float, alpha: float = MDE_ALPHA, power: float = MDE_POWER) -> float:
    """The smallest true difference a two-sided t-test with standard error `se` and `df` degrees of freedom
    detects with probability `power` at level `alpha`: delta = se * lambda, where the noncentral t with
    noncentrality lambda exceeds the critical value |t| > t_(1-alpha/2, df) with probability `power`.
    (For large df, lambda -> z_(1-alpha/2) + z_power = 2.80 at the defaults; at df = 9 it is 3.1.)"""
    from scipy import optimize, stats

    if not (se > 0 and df > 0):
        raise ValueError(f"needs a positive standard error and degrees of freedom, got se={se}, df={df}")
    critical = stats.t.ppf(1 - alpha / 2, df)

    def shortfall(noncentrality: float) -> float:
        wrong_side = np.nan_to_num(stats.nct.cdf(-critical, df, noncentrality))  # NaN where it underflows to 0
        return float(stats.nct.sf(critical, df, noncentrality) + wrong_side - power)

    return se * optimize.brentq(shortfall, 0.0, critical + 30.0, xtol=1e-12)


def compare(
    baseline: Mapping[int, float],
    other: Mapping[int, float],
    pairable: set[int] | None = None,
) -> Comparison:
    """Compare two cells given as {run index: accuracy}; the difference is other - baseline.

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
            return Comparison(PAIRED, None, None, len(common), "the paired differences have no variance",
                              difference=float(np.mean(b - a)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.ttest_rel(b, a)
        se = float(np.std(b - a, ddof=1) / math.sqrt(len(common)))
        return _with_interval(Comparison(PAIRED, _finite_or_none(result.statistic), _finite_or_none(result.pvalue),
                                         len(common), difference=float(np.mean(b - a))), result, se)
    a = np.array(list(baseline.values()), dtype=float)
    b = np.array(list(other.values()), dtype=float)
    if a.size < 2 or b.size < 2:
        return Comparison(None, None, None, len(common), "needs 2 runs per arch (or 2 paired runs)")
    difference = float(b.mean() - a.mean())
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return Comparison(WELCH, None, None, len(common), "no variance in either arch", difference=difference)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(b, a, equal_var=False)
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return _with_interval(Comparison(WELCH, _finite_or_none(result.statistic), _finite_or_none(result.pvalue),
                                     len(common), difference=difference), result, se)


def _with_interval(comparison: Comparison, result: Any, se: float) -> Comparison:
    """`comparison` with the 95% interval of scipy's test result and the MDE of its standard error `se`."""
    interval = result.confidence_interval(CI_LEVEL)
    df = float(result.df)
    return replace(comparison, ci95=(float(interval.low), float(interval.high)), df=df,
                   mde80=minimum_detectable_effect(se, df))


def pooled(differences_by_size: Sequence[Mapping[int, float]]) -> Comparison:
    """The pre-specified combined test over training-set sizes: is the gap, averaged over the sizes, non-zero?

    `differences_by_size` holds per size {run index: treatment - baseline} over the pairable runs. A run index
    trains every size with the same init seed, so the sizes' gaps are not independent (Stouffer's z would
    assume they are); the runs are. Each run present at every size gives one value, its gap averaged over the
    sizes (equal weight per size), and a one-sample t-test over runs (scipy.stats.ttest_1samp) tests the mean
    against 0, with its 95% interval and minimum detectable effect. Fewer than MIN_PAIRS such runs: no test.
    """
    from scipy import stats

    if not differences_by_size:
        return Comparison(None, None, None, 0, "no sizes to pool")
    runs = sorted(set.intersection(*(set(d) for d in differences_by_size)))
    values = np.array([np.mean([d[run] for d in differences_by_size]) for run in runs], dtype=float)
    if len(runs) < MIN_PAIRS:
        return Comparison(None, None, None, len(runs), "needs 2 runs paired at every size")
    if np.ptp(values) == 0:
        return Comparison(PAIRED, None, None, len(runs), "the pooled differences have no variance",
                          difference=float(values.mean()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_1samp(values, 0.0)
    se = float(np.std(values, ddof=1) / math.sqrt(len(runs)))
    return _with_interval(Comparison(PAIRED, _finite_or_none(result.statistic), _finite_or_none(result.pvalue),
                                     len(runs), difference=float(values.mean())), result, se)


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
