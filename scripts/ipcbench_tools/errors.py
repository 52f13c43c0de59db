"""The error types of the scripts: str(error) is the one line the user sees."""


class ToolError(Exception):
    """Bad input or environment; the script prints one line and exits."""


class UsageError(ToolError):
    """Bad command line (exit 2 in every script)."""


class InputError(ToolError):
    """A file or a value the script was given cannot be used."""
