"""Errors whose message is meant for the user: the CLI prints them as one line (exit status 2 for
a bad setting or input, 1 for a run stopped by a systematic failure)."""


class UsageError(ValueError):
    """A bad setting or input (a run directory that exists, a policy that does not fit, ...)."""


class UnknownName(UsageError, KeyError):
    """A task, split or policy name that does not exist; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SystematicFailure(RuntimeError):
    """The first episodes of a run all failed with the same error: the run stops (exit status 1)
    instead of recording the same failure for every episode."""
