"""User-facing errors: one line that names the file or option and the fix.

The CLI turns these into a one-line message and a non-zero exit code, never a traceback.
"""


class UserError(Exception):
    """An error caused by the user's input or environment, with the remedy in its message."""


class DatasetError(UserError):
    """A Video-MNIST file is missing, truncated, foreign or incomplete."""


class MnistError(UserError):
    """The MNIST digits could not be obtained or failed their checksum."""
