"""User-facing errors of the `ttn` package (subclasses of the shared `UserError`), and `first_line`, the one way
an exception's message is quoted inside another message."""
from vmnist.infra.errors import UserError, first_line

__all__ = ["TTNError", "UserError", "first_line"]


class TTNError(UserError, ValueError):
    """A bad option, an incompatible record or checkpoint: the message names it and the fix."""
