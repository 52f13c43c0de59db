"""Tests of scripts/: the scripts and the ipcbench_tools package they share
import as they do when run as scripts/<verb>.py (scripts/ first on
sys.path)."""
import os
import sys

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts")
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)
