"""Colours and markers, derived from the order of the results: no list of
transports to edit. The subject ranked i (Dataset.ranks: the order Google
Benchmark registered them in) gets PALETTE[i] and MARKERS[i], cycling; a
Python reference subject (py-<name>) shares <name>'s colour."""

# matplotlib's tab20 with the dark shade of each hue first, then tab20b's
# darkest and lightest: 30 colours, neighbours of different hue.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78",
           "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
           "#dbdb8d", "#9edae5", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#9c9ede", "#cedb9c", "#e7cb94", "#e7969c", "#de9ed6")
# 7 markers against 30 colours: a (colour, marker) pair repeats only after
# 210 subjects.
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
BOUND_COLOUR = "#000000"    # memcpy: an upper bound, not a way to talk
# The report page is 1100 px wide (render.py); no chart is drawn wider, so
# none is scaled down until its labels cannot be read.
PAGE_WIDTH_IN = 11.0
PNG_DPI = 150
# Dot plots (no bars on log axes): a colour and a marker per context, per
# CPU placement, per reader count.
CONTEXT_DOT = {"thread": ("#4c72b0", "o"), "process": ("#dd8452", "s"),
               "spawn": ("#55a868", "^")}
CONTEXT_NAMES = {"thread": "thread", "process": "process (fork)",
                 "spawn": "spawn (new program)"}
PIN_DOT = {"none": ("#9a9a9a", "o"), "cross": ("#1f77b4", "s"),
           "same": ("#d62728", "D")}
OTHER_DOT = ("#8c564b", "X")
READER_COLOURS = ("#9ecae1", "#4292c6", "#08519c", "#08306b", "#041a3d")
FLOOR_COLOUR = "#555555"    # floor reference lines
OVERSUB_LABEL = "hollow: oversubscribed (busy peers > CPUs)"
COMPARE_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2")


def _base(name):
    return name[3:] if name.startswith("py-") else name


def rank_of(ranks, name):
    base = _base(name)
    if base in ranks:
        return ranks[base]
    return ranks.get(name, len(ranks))


def colour_of(ranks, name):
    """ranks: subject -> place in the results (Dataset.ranks)."""
    if _base(name) == "memcpy":
        return BOUND_COLOUR
    return PALETTE[rank_of(ranks, name) % len(PALETTE)]


def marker_of(ranks, name):
    return MARKERS[rank_of(ranks, name) % len(MARKERS)]
