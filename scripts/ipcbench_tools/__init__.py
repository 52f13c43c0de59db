"""ipcbench_tools: the code every script in scripts/ shares.

- errors: ToolError, UsageError, InputError (str(error) is the one line)
- gbjson: THE loader and validator of Google Benchmark JSON, time units
- names: THE parser of `scenario/part/.../key:value` benchmark names
- stats: THE median / spread / cv helpers
- atomic: THE atomic writers (a file, or a set of files)
- cli: THE argparse base (one-line errors) and THE main() wrapper
- report: plot.py's report, split by concern (data, fmt, style, charts,
  sections, render)
- history: history.py's results history (ingest, store, detect, trend)

The scripts import it as `ipcbench_tools`: run as scripts/<verb>.py, Python
puts scripts/ first on sys.path, so no path tricks are needed.
"""
