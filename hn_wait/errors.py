"""The project's own error types. Each carries the exit code the CLI maps it to."""

from __future__ import annotations

from hn_wait.exit_codes import ExitCode


class HnWaitError(Exception):
    """An error with a one-line, user-facing message and a documented exit code.

    Messages never contain the API token: they are built from what hn-wait knows
    about the request, not from the request itself.
    """

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(HnWaitError):
    """A bad option, environment variable or file: exit 2."""

    exit_code = ExitCode.USAGE


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C does (a BaseException, as KeyboardInterrupt is)."""


def raise_terminated(signum: int, frame: object) -> None:
    """The SIGTERM handler: turn the signal into ``Terminated`` where the program is."""
    raise Terminated()
