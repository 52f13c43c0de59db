"""Ctrl-C before a script's main() runs: one line and exit 130, not a
KeyboardInterrupt traceback out of an import (matplotlib's takes ~50 ms).
The handler must be in place before the script imports anything heavy,
this package included, so each script installs it inline, first thing:

    import os
    import signal
    def _early_interrupt(signum, frame):  # see ipcbench_tools.early_interrupt
        os.write(2, b"plot.py: interrupted\\n")
        os._exit(130)
    _early_interrupt.early_interrupt = True
    if __name__ == "__main__" and \\
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _early_interrupt)

and cli.run_main() calls restore() as it starts: from then on a Ctrl-C is
Python's KeyboardInterrupt, which run_main reports (exit 130). A SIGINT that
is ignored (nohup, a background job) stays ignored.
"""
import signal


def restore():
    """Python's KeyboardInterrupt again, if a script's early handler is set."""
    if getattr(signal.getsignal(signal.SIGINT), "early_interrupt", False):
        signal.signal(signal.SIGINT, signal.default_int_handler)
