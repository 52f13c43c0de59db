"""THE command-line base of the scripts: an ArgumentParser whose errors are
one line, and the main() wrapper that turns every expected failure into one
line on stderr and an exit status (no traceback, no partial output).

    def main(argv=None):
        return cli.run_main(PROG, _main, argv, input_code=1)
"""
import argparse
import sys
import textwrap

from ipcbench_tools import early_interrupt
from ipcbench_tools.errors import ToolError, UsageError

USAGE_CODE = 2
INTERRUPTED_CODE = 130


class ArgumentParser(argparse.ArgumentParser):
    """Bad arguments raise UsageError (one line), not the usage block."""

    def __init__(self, *args, exit_codes=None, **kwargs):
        if exit_codes:
            epilog = kwargs.get("epilog")
            kwargs["epilog"] = ((epilog + "\n\n") if epilog else "") + \
                exit_codes_text(exit_codes)
            kwargs.setdefault("formatter_class",
                              argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(message)


def bounded(convert, ok, message):
    """An argparse type: convert(text) (int or float), then ok(value), else
    the one-line error '<message>: <text>'."""
    what = "an integer" if convert is int else "a number"

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") \
                from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{message}: {text}")
        return value
    return parse


def exit_codes_text(codes):
    """'exit status:' block for --help from {code: meaning}."""
    width = max(len(str(c)) for c in codes)
    indent = " " * (width + 4)
    return "exit status:\n" + "\n".join(
        textwrap.fill(meaning, 78, initial_indent=f"  {str(c).rjust(width)}"
                      "  ", subsequent_indent=indent)
        for c, meaning in sorted(codes.items()))


def fail(prog, message):
    print(f"{prog}: error: {message}", file=sys.stderr)


def run_main(prog, body, argv=None, input_code=1):
    """body(argv) -> exit status, with the one-line error behaviour:
    UsageError -> exit 2, any other ToolError or OSError -> input_code,
    Ctrl-C -> 130."""
    try:
        early_interrupt.restore()   # a Ctrl-C from here on is ours to report
        return body(argv)
    except UsageError as e:
        fail(prog, f"{e} (see --help)")
        return USAGE_CODE
    except ToolError as e:
        fail(prog, str(e))
        return input_code
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        fail(prog, f"{where}{e.strerror or e}")
        return input_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED_CODE
