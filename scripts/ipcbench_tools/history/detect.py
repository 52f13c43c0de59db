"""THE change-point detector of the history: E-Divisive means (Matteson and
James, "A Nonparametric Approach for Multiple Change Point Analysis of
Multivariate Data", JASA 2014; what Apache Otava/Hunter and MongoDB run
over their performance history) with its permutation test.

Why this one and not asv's step detection: asv fits a piecewise-constant
curve with a penalty chosen from a noise estimate and reports every step of
that fit; how often it raises a false alarm on a given machine is whatever
the penalty makes it. The permutation test gives each change point a
p-value computed from the series' own commits, so a noisy benchmark needs a
bigger step before anything is reported, and the false-alarm rate is
bounded by --alpha whatever the noise looks like (heavy tails, a bimodal
machine). scripts/history_experiment.py measures both rates.

What it works on: one benchmark, one placement, one machine; one value per
commit, the median of that commit's repetitions, on a log scale (a step is
a ratio). Repetitions of one run are not independent draws of the commit
(a whole run drifts on a shared machine), so the test permutes commits,
never repetitions.

The algorithm (hierarchical, as the paper's e.divisive):
  1. for every segment of the series between change points found so far,
     the split tau maximising the energy statistic
       Q(tau) = n_l n_r / n * (2 mean|x_l - x_r|^a - mean|x_l - x_l'|^a
                               - mean|x_r - x_r'|^a)
     with at least `min_segment` commits on each side. The paper allows
     any exponent a in (0, 2) and its R package uses 1; a = 0.5 here, so
     that one wild commit (a run 3x off, common on a shared machine)
     weighs less against a lasting step: on this machine's repetitions it
     found more planted steps at the same false-alarm rate
     (history_experiment.py, 60 histories per size and noise class);
  2. the best of those splits is tested: every segment is shuffled
     independently (up to `permutations` times), the same maximum is
     taken, and p = (1 + shuffles at least as large) / (1 + shuffles);
  3. if p < alpha the split is a change point and 1-2 repeat; else stop.
A change point becomes a reported Step with its size: the median of the
per-commit medians after it over the median before it (each side up to
the neighbouring change points), minus 1. A step counts (check's exit 1)
when that ratio is above 1 + threshold (slower) or below 1 / (1 +
threshold) (faster). Shuffles are seeded from the benchmark's name: the
same history always gives the same answer.
"""
import dataclasses
import math
import statistics
import zlib

DEFAULT_THRESHOLD = 0.10
DEFAULT_ALPHA = 0.01
DEFAULT_MIN_SEGMENT = 3
DEFAULT_PERMUTATIONS = 999
EXPONENT = 0.5              # a in |x - y|^a (see above)
BATCH_CELLS = 2_000_000     # distance-matrix cells per batch of shuffles


@dataclasses.dataclass(frozen=True)
class Settings:
    threshold: float = DEFAULT_THRESHOLD
    alpha: float = DEFAULT_ALPHA
    min_segment: int = DEFAULT_MIN_SEGMENT
    permutations: int = DEFAULT_PERMUTATIONS

    def min_commits(self):
        """The shortest history in which a step can be significant: a
        perfect step between two halves reaches p = 2 / C(n, n/2) at best
        (it and its mirror image), which must be below alpha; and both
        sides need min_segment commits. 10 with the defaults."""
        n = 2 * self.min_segment
        while 2 / math.comb(n, n // 2) >= self.alpha / 2:
            n += 1
        return n


@dataclasses.dataclass
class Step:
    index: int            # position of the first commit of the new level
    before: str           # the last commit of the old level
    after: str            # the first commit of the new level
    old_ns: float         # median of the per-commit medians before
    new_ns: float         # ... and after
    p: float              # permutation p-value

    @property
    def ratio(self):
        return self.new_ns / self.old_ns if self.old_ns > 0 else math.inf

    @property
    def size(self):
        return self.ratio - 1

    def direction(self, threshold):
        """'slower', 'faster' or None (significant but within the
        threshold)."""
        if self.ratio > 1 + threshold:
            return "slower"
        if self.ratio < 1 / (1 + threshold):
            return "faster"
        return None


def energy(x, min_segment):
    """Q(tau) for every split of each row of x (shape (B, L)): returns
    (taus, q) with q of shape (B, len(taus)). From the distance matrix d:
    its row sums and the sums below the diagonal give, by prefix sums, the
    within-left, whole-rows and so between and within-right sums."""
    import numpy as np      # here, so that history.py add needs no numpy
    b, n = x.shape
    d = np.sqrt(np.abs(x[:, :, None] - x[:, None, :]))    # EXPONENT 0.5
    below = np.tril(np.ones((n, n), dtype=bool), -1)
    left = np.zeros((b, n + 1))
    left[:, 1:] = np.cumsum(2 * (d * below).sum(axis=2), axis=1)
    rows = np.zeros((b, n + 1))
    rows[:, 1:] = np.cumsum(d.sum(axis=2), axis=1)
    t = np.arange(min_segment, n - min_segment + 1)
    within_l = left[:, t]                      # sum d[:t, :t]
    upto = rows[:, t]                          # sum d[:t, :]
    between = upto - within_l                  # sum d[:t, t:]
    within_r = rows[:, n][:, None] - 2 * upto + within_l   # sum d[t:, t:]
    nl, nr = t.astype(float), (n - t).astype(float)
    e = 2 * between / (nl * nr) - within_l / (nl * (nl - 1)) - \
        within_r / (nr * (nr - 1))
    return t, nl * nr / n * e


def change_points(x, settings=Settings(), seed=0):
    """Change points of the 1-d series x: [(index, p)] sorted by index,
    index = first position of a new segment."""
    import numpy as np
    x = np.asarray(x, dtype=float)
    m = settings.min_segment
    if m < 2:
        raise ValueError("min_segment must be at least 2")
    rng = np.random.default_rng(seed)
    bounds, found = [0, len(x)], []
    while True:
        segments = [(a, b) for a, b in zip(bounds, bounds[1:])
                    if b - a >= 2 * m]
        if not segments:
            break
        best = None
        for a, b in segments:
            t, q = energy(x[None, a:b], m)
            i = int(np.argmax(q[0]))
            if best is None or q[0, i] > best[0]:
                best = (float(q[0, i]), a + int(t[i]))
        observed, tau = best
        p = _permutation_p(x, segments, observed, settings, rng)
        if p >= settings.alpha:
            break
        found.append((tau, p))
        bounds = sorted(bounds + [tau])
    return sorted(found)


def _permutation_p(x, segments, observed, settings, rng):
    """p-value of the best split: each segment shuffled on its own, the
    largest Q over all segments compared with the observed one. Stops
    early once p cannot end below alpha."""
    import numpy as np
    total, exceed, done = settings.permutations, 0, 0
    give_up = settings.alpha * (total + 1) - 1   # exceed above: p >= alpha
    longest = max(b - a for a, b in segments)
    batch = max(10, min(200, BATCH_CELLS // (longest * longest)))
    tolerance = 1e-12 * max(1.0, abs(observed))
    while done < total:
        k = min(batch, total - done)
        null = np.full(k, -np.inf)
        for a, b in segments:
            shuffled = rng.permuted(np.tile(x[a:b], (k, 1)), axis=1)
            _, q = energy(shuffled, settings.min_segment)
            null = np.maximum(null, q.max(axis=1))
        exceed += int(np.count_nonzero(null >= observed - tolerance))
        done += k
        if exceed > give_up:
            break
    return (exceed + 1) / (done + 1)


def seed_of(text):
    return zlib.crc32(text.encode())


def commit_medians(values):
    """Per-commit medians of lists of repetitions."""
    return [statistics.median(v) for v in values]


def find_steps(values, commits, settings=Settings(), seed=0):
    """Every significant step of one series: values[i] are the
    repetitions (ns) of commits[i], in commit order. Returns [Step] by
    position; use Step.direction(threshold) to keep the ones that count."""
    med = commit_medians(values)
    floor = min((v for v in med if v > 0), default=1.0) * 1e-6
    x = [math.log(max(v, floor)) for v in med]
    cps = change_points(x, settings, seed)
    edges = [0] + [i for i, _ in cps] + [len(med)]
    steps = []
    for k, (i, p) in enumerate(cps):
        old = statistics.median(med[edges[k]:i])
        new = statistics.median(med[i:edges[k + 2]])
        steps.append(Step(i, commits[i - 1], commits[i], old, new, p))
    return steps


@dataclasses.dataclass
class Result:
    """check's verdict on one series."""
    name: str
    commits: list         # the series' commits, in order
    steps: list           # significant steps (Step), by position
    decided: bool         # False: too little history

    def counted(self, threshold):
        return [s for s in self.steps if s.direction(threshold)]


def analyse(name, commits, values, settings=Settings(), salt=""):
    """Result for one series (too little history: decided False)."""
    if len(commits) < settings.min_commits():
        return Result(name, list(commits), [], False)
    steps = find_steps(values, commits, settings, seed_of(salt + name))
    return Result(name, list(commits), steps, True)
