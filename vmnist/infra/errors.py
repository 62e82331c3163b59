"""User-facing errors: one line that names the file or option and the fix.

The CLI turns these into a one-line message and a non-zero exit code, never a traceback.
"""


def first_line(exc: BaseException, *, typed: bool = False, limit: int | None = None) -> str:
    """An exception's message as one line for another message to quote: its first non-blank line with runs of
    white space made one space, cut to `limit` characters; ``"Type: line"`` when `typed`; the type's name alone
    when the message is empty."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    line = " ".join(lines[0].split())[:limit]
    return f"{type(exc).__name__}: {line}" if typed else line


class UserError(Exception):
    """An error caused by the user's input or environment, with the remedy in its message."""


class DatasetError(UserError):
    """A Video-MNIST file is missing, truncated, foreign or incomplete."""


class MnistError(UserError):
    """The MNIST digits could not be obtained or failed their checksum."""
