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


#: The longest error line the CLI prints; a longer message (a value pasted in by mistake) is cut in the middle.
MAX_MESSAGE = 1000


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line, at most ``limit`` characters, cut in the middle with the number of characters left out."""
    text = printable(text).replace("\n", " | ")
    if len(text) <= limit:
        return text
    keep = (limit - 30) // 2
    return f"{text[:keep]}[... {len(text) - 2 * keep} characters ...]{text[-keep:]}"


def printable(text: str) -> str:
    """``text`` with characters no terminal can encode (file names that are not valid UTF-8 arrive as lone
    surrogates) written as escapes, e.g. ``\\udcff``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    import difflib

    hint = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{hint[0]}'?)" if hint else ""
