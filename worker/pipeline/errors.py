"""Errors that mean "this input cannot be read": one line, naming the reason."""


class InputError(Exception):
    """The input is not a readable scanned report (corrupt, empty, too large, wrong type)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
