"""User-facing errors of the `ttn` package (subclasses of the shared `UserError`)."""
from vmnist.errors import UserError


class TTNError(UserError, ValueError):
    """A bad option, an incompatible record or checkpoint: the message names it and the fix."""
