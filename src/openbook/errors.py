"""The one error type that reaches a user as a one-line message."""


class OpenbookError(Exception):
    """A problem the user can fix (bad input, missing file, mismatched model); shown as one line, exit code 1."""
