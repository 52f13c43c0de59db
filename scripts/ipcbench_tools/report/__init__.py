"""The ipcbench report (scripts/plot.py), split by concern:

- data: Google Benchmark JSON -> Dataset of Points (median, spread) keyed by
  what each benchmark measures; scenarios the report has no section for are
  kept (generic table section + a warning), never dropped
- fmt: numbers and units as the report writes them
- style: colours and markers, derived from the order of the results
- charts: matplotlib figures (one function per chart)
- blocks: what a report is made of (Section, Table, FigureBlock, ReportInput)
- sections: one builder per report section (SECTION_BUILDERS)
- render: Markdown, HTML and the files (written all-or-nothing)
"""
