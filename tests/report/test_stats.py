"""ttn.report.stats against hand-computed values (textbook formulas, not the functions under test)."""
import math

import numpy as np
import pytest
from scipy import stats as sps

from ttn.report.stats import PAIRED, WELCH, compare, holm, summarize


def test_summarize_by_hand():
    # mean 0.675; squared deviations sum to 0.0875; var (ddof=1) 0.0875/3; sem = sqrt(var)/sqrt(4)
    cell = summarize([0.5, 0.6, 0.7, 0.9])
    assert cell.n == 4
    assert cell.mean == pytest.approx(0.675, abs=1e-15)
    assert cell.sem == pytest.approx(math.sqrt(0.0875 / 3) / 2, rel=1e-12)
    assert cell.sem == pytest.approx(0.08539125638299665, rel=1e-12)


def test_summarize_single_and_empty_runs():
    one = summarize([0.42])
    assert (one.mean, one.n) == (0.42, 1) and math.isnan(one.sem)
    none = summarize([])
    assert none.n == 0 and math.isnan(none.mean) and math.isnan(none.sem)


def _paired_by_hand(a, b):
    d = [y - x for x, y in zip(a, b)]
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    t = mean / (sd / math.sqrt(n))
    return t, 2 * sps.t.sf(abs(t), n - 1)


def _welch_by_hand(a, b):
    na, nb = len(a), len(b)
    ma, mb = sum(a) / na, sum(b) / nb
    va = sum((x - ma) ** 2 for x in a) / (na - 1)
    vb = sum((x - mb) ** 2 for x in b) / (nb - 1)
    se2 = va / na + vb / nb
    t = (mb - ma) / math.sqrt(se2)
    df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    return t, 2 * sps.t.sf(abs(t), df)


def test_paired_test_matches_textbook():
    a = [0.50, 0.60, 0.55, 0.65]
    b = [0.58, 0.66, 0.57, 0.73]  # differences 0.08, 0.06, 0.02, 0.08: mean 0.06, sd sqrt(0.0008)
    result = compare(dict(enumerate(a)), dict(enumerate(b)))
    t, p = _paired_by_hand(a, b)
    assert result.test == PAIRED and result.n_pairs == 4
    assert t == pytest.approx(0.06 / (math.sqrt(0.0008) / 2), rel=1e-9)
    assert result.statistic == pytest.approx(t, rel=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    assert 0.01 < result.p_value < 0.05


def test_paired_uses_only_common_runs():
    baseline = {0: 0.50, 1: 0.60, 2: 0.55, 7: 0.99}
    other = {0: 0.58, 1: 0.66, 2: 0.57, 9: 0.10}
    result = compare(baseline, other)
    t, p = _paired_by_hand([0.50, 0.60, 0.55], [0.58, 0.66, 0.57])
    assert result.test == PAIRED and result.n_pairs == 3
    assert result.p_value == pytest.approx(p, rel=1e-9)


def test_welch_when_runs_do_not_pair():
    a = [0.50, 0.60, 0.55]
    b = [0.70, 0.62, 0.75, 0.71]
    result = compare({0: a[0], 1: a[1], 2: a[2]}, {3: b[0], 4: b[1], 5: b[2], 6: b[3]})
    t, p = _welch_by_hand(a, b)
    assert result.test == WELCH and result.n_pairs == 0
    assert result.statistic == pytest.approx(t, rel=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-9)


def test_one_pair_falls_back_to_welch():
    a = {0: 0.5, 1: 0.6, 2: 0.55}
    b = {0: 0.7, 5: 0.65, 6: 0.8}
    result = compare(a, b)
    assert result.test == WELCH and result.n_pairs == 1
    assert result.p_value == pytest.approx(_welch_by_hand(list(a.values()), list(b.values()))[1], rel=1e-9)


def test_pairable_excludes_runs():
    a = {0: 0.50, 1: 0.60, 2: 0.55}
    b = {0: 0.58, 1: 0.66, 2: 0.57}
    assert compare(a, b, pairable={0, 1, 2}).test == PAIRED
    assert compare(a, b, pairable={0}).test == WELCH


def test_too_few_runs_gives_no_test():
    result = compare({0: 0.5}, {0: 0.6})
    assert result.test is None and result.p_value is None and result.note
    result = compare({0: 0.5, 1: 0.6}, {2: 0.6})
    assert result.test is None and result.p_value is None


def test_no_variance_gives_no_p_value():
    result = compare({0: 0.5, 1: 0.6}, {0: 0.5, 1: 0.6})
    assert result.test == PAIRED and result.p_value is None and "variance" in result.note
    result = compare({0: 0.5, 1: 0.5}, {2: 0.5, 3: 0.5})
    assert result.test == WELCH and result.p_value is None


def test_holm_hand_example():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> raised to 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_skips_missing_and_caps_at_one():
    adjusted = holm([0.2, None, 0.5, float("nan")])
    assert adjusted[1] is None and adjusted[3] is None
    assert adjusted[0] == pytest.approx(0.4) and adjusted[2] == pytest.approx(0.5)
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])
    assert holm([0.03]) == [0.03]
    assert holm([]) == []


def test_holm_never_below_raw_and_keeps_order():
    rng = np.random.default_rng(0)
    raw = list(rng.uniform(0, 0.2, size=8))
    adjusted = holm(raw)
    assert all(adj >= p for adj, p in zip(adjusted, raw))
    order = np.argsort(raw)
    assert all(adjusted[order[i]] <= adjusted[order[i + 1]] for i in range(len(raw) - 1))


def test_p_values_print_so_a_significant_one_never_reads_as_the_threshold():
    from ttn.report.formats import format_p

    assert [format_p(p) for p in (0.0497, 0.002, 0.521, 0.1, 0.00099, None)] == \
        ["0.0497", "0.0020", "0.521", "0.100", "9.9e-04", "—"]
