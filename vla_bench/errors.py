"""Errors whose message is meant for the user: the CLI prints them and exits with status 2."""


class UsageError(ValueError):
    """A bad setting or input (a run directory that exists, a policy that does not fit, ...)."""


class UnknownName(UsageError, KeyError):
    """A task, split or policy name that does not exist; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
