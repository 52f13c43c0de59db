"""What a report is made of: sections of paragraphs (Markdown text),
tables and figures, built from a ReportInput. Renderers (render.py) and
section builders (sections.py) meet here."""
import dataclasses

from ipcbench_tools.report.data import Dataset

@dataclasses.dataclass
class Table:
    headers: list
    rows: list            # cells are str; "\n" breaks a line inside a cell
    caption: str = ""
    align: list = None    # "left" | "right" per column (default: left)


@dataclasses.dataclass
class FigureBlock:
    name: str             # file stem, e.g. "roundtrip_latency"
    figure: object        # matplotlib Figure
    caption: str


@dataclasses.dataclass
class Section:
    title: str
    blocks: list          # of str (a paragraph of Markdown), Table, FigureBlock


@dataclasses.dataclass
class ReportInput:
    data: Dataset         # what the single-run charts show
    datasets: list        # every file given, in order (for comparisons)
    size: int             # --size
    notes: list           # "skipped ..." messages for stdout
    pyref: list = dataclasses.field(default_factory=list)  # (path, doc)
    warnings: list = dataclasses.field(default_factory=list)  # for stderr
    history: object = None    # HistoryLink when a results history exists


@dataclasses.dataclass
class HistoryLink:
    """The results history (scripts/history.py) beside this report."""
    path: str             # the history file, as the report names it
    runs: int
    commits: int
    machines: int
    trend: str = None     # the trend index relative to the report, if any
