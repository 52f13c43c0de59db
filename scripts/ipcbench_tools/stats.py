"""THE median and spread helpers: every figure the scripts quote is a
median with its spread (min-max, interquartile range or cv)."""
import math
import statistics


def is_number(value):
    """A finite int or float (not a bool)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def median(values):
    """Median of an iterable, or None when it is empty."""
    values = list(values)
    return statistics.median(values) if values else None


def spread(values, kind="minmax"):
    """(lo, hi) of values: min-max, or the quartiles with kind="iqr"."""
    values = list(values)
    if len(values) < 2:
        return values[0], values[0]
    if kind == "iqr":
        q = statistics.quantiles(values, n=4, method="inclusive")
        return q[0], q[2]
    return min(values), max(values)


def stdev(values):
    """Sample standard deviation; 0 for a single value (as Google
    Benchmark's statistics.cc)."""
    values = list(values)
    return statistics.stdev(values) if len(values) > 1 else 0.0


def cv(values):
    """Coefficient of variation (stdev / mean), None for fewer than two
    values or a zero mean."""
    values = list(values)
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean else None


def robust_sd(values):
    """1.4826 * median absolute deviation: the sd of normal data, robust to
    outliers."""
    values = list(values)
    med = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - med) for v in values)
