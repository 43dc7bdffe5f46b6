"""Errors services raise; `api.main` turns them into HTTP answers."""


class NotFound(LookupError):
    """No such thing, or not one the caller may see (both are 404: no existence leak)."""


class Conflict(Exception):
    """The caller's view is stale (409)."""


class Invalid(ValueError):
    """A well-formed request that cannot be done as asked (422)."""
