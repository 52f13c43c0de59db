"""Rank tests for the gates (stdlib only): Mann-Whitney U over two
independent samples (gate.py), Wilcoxon signed-rank over paired log ratios
(ab.py), multiple-comparison correction and the sample size a test needs
to reach a significance level at all."""
import math

# Exact null distributions are used up to this sample size (no ties).
EXACT_MAX_N = 50
CORRECTIONS = ("holm", "bonferroni", "none")

def rank(values):
    """Average ranks (1-based) and the sizes of tied groups (>1)."""
    order = sorted(range(len(values)), key=lambda k: values[k])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def norm_sf(z):
    """Survival function of the standard normal distribution."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def _two_sided_exact(counts, stat):
    """Two-sided p from integer counts of a symmetric null distribution."""
    total = sum(counts)
    k = int(round(stat))
    low = sum(counts[:k + 1])
    high = sum(counts[k:])
    return min(1.0, 2 * min(low, high) / total)


def mann_whitney_counts(n1, n2):
    """Counts of U = 0..n1*n2 under H0 (q-binomial coefficient)."""
    poly = [1]
    for i in range(1, n1 + 1):
        # multiply by (1 - q^(n2+i)), then divide by (1 - q^i)
        shift = n2 + i
        new = poly + [0] * shift
        for k, c in enumerate(poly):
            new[k + shift] -= c
        for k in range(i, len(new)):
            new[k] += new[k - i]
        poly = new[:n1 * n2 + 1]
    return poly


def mann_whitney(x, y, method="auto"):
    """Two-sided Mann-Whitney U test. Returns (U of x, p-value).

    method: "exact" (no ties only), "asymptotic" (normal approximation
    with tie and continuity correction, as scipy.stats.mannwhitneyu) or
    "auto" (exact when there are no ties and both n <= EXACT_MAX_N).
    """
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("mann_whitney needs two non-empty samples")
    ranks, ties = rank(list(x) + list(y))
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    if method == "auto":
        exact = not ties and max(n1, n2) <= EXACT_MAX_N
        method = "exact" if exact else "asymptotic"
    if method == "exact":
        if ties:
            raise ValueError("exact Mann-Whitney needs untied data")
        return u, _two_sided_exact(mann_whitney_counts(n1, n2), u)
    n = n1 + n2
    mu = n1 * n2 / 2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1))
    var = n1 * n2 / 12 * ((n + 1) - tie_term)
    if var <= 0:
        return u, 1.0
    z = max(0.0, abs(u - mu) - 0.5) / math.sqrt(var)
    return u, min(1.0, 2 * norm_sf(z))


def mann_whitney_min_p(n1, n2):
    """Smallest p-value the test can give for these sample sizes."""
    if n1 == 0 or n2 == 0:
        return 1.0
    return mann_whitney(range(n1), range(n1, n1 + n2))[1]


def signed_rank_counts(n):
    """Counts of W+ = 0..n(n+1)/2 under H0."""
    poly = [1]
    for i in range(1, n + 1):
        new = poly + [0] * i
        for k, c in enumerate(poly):
            new[k + i] += c
        poly = new
    return poly


def wilcoxon(d, method="auto"):
    """Two-sided Wilcoxon signed-rank test of differences d against 0.

    Zeros are dropped ("wilcox" rule). Returns (W+, p-value, n used).
    Exact without ties for n <= EXACT_MAX_N, else normal approximation
    with tie and continuity correction.
    """
    d = [v for v in d if v != 0]
    n = len(d)
    if n == 0:
        return 0.0, 1.0, 0
    ranks, ties = rank([abs(v) for v in d])
    w_plus = sum(r for r, v in zip(ranks, d) if v > 0)
    if method == "auto":
        method = "exact" if not ties and n <= EXACT_MAX_N else "asymptotic"
    if method == "exact":
        if ties:
            raise ValueError("exact Wilcoxon needs untied data")
        return w_plus, _two_sided_exact(signed_rank_counts(n), w_plus), n
    mu = n * (n + 1) / 4
    var = n * (n + 1) * (2 * n + 1) / 24 - sum(t ** 3 - t for t in ties) / 48
    if var <= 0:
        return w_plus, 1.0, n
    z = max(0.0, abs(w_plus - mu) - 0.5) / math.sqrt(var)
    return w_plus, min(1.0, 2 * norm_sf(z)), n


def wilcoxon_min_p(n):
    """Smallest p-value the signed-rank test can give for n pairs."""
    if n == 0:
        return 1.0
    return wilcoxon([float(k) for k in range(1, n + 1)])[1]


def adjust(pvalues, method="holm"):
    """Family-wise corrected p-values (same order as given)."""
    m = len(pvalues)
    if method == "none":
        return list(pvalues)
    if method == "bonferroni":
        return [min(1.0, p * m) for p in pvalues]
    if method != "holm":
        raise ValueError(f"unknown correction {method!r}")
    order = sorted(range(m), key=lambda k: pvalues[k])
    out = [1.0] * m
    running = 0.0
    for step, k in enumerate(order):
        running = max(running, min(1.0, (m - step) * pvalues[k]))
        out[k] = running
    return out


def needed_size(min_p_of, m, alpha, limit=1000):
    """Smallest n for which min_p_of(n) * m < alpha (None if > limit)."""
    for n in range(1, limit + 1):
        if min_p_of(n) * m < alpha:
            return n
    return None


