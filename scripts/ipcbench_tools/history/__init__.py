"""The results history (scripts/history.py), split by concern:

- ingest: a Google Benchmark JSON document -> one Run (machine
  fingerprint, commit, date, every repetition with its placement)
- store: THE SQLite store (results/history.sqlite): schema, add (one
  transaction, idempotent), the series per machine in commit order, export
- detect: THE change-point detector (E-Divisive means with a permutation
  test) and the steps it reports; history_experiment.py measures it
- trend: the trend charts and their index (plot.py's render machinery)
"""
