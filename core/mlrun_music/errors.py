"""The one exception type that the CLI turns into a one-line message."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input (a file, an option, an install) rather than a bug.

    The CLI prints ``error: <message>`` on one line and exits with ``exit_code``.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(exc: BaseException) -> str:
    """Render an exception as a single line: ``Type: message`` with newlines folded."""
    text = str(exc).strip().replace("\n", " | ")
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
