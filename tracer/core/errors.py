"""Errors meant for users: the CLI prints their French message, never a traceback."""


class UserError(Exception):
    """A mistake or a refused action, explained in French; exit status 1."""

    exit_code = 1


class NotFound(UserError):
    """A reference, template or message that does not exist."""
