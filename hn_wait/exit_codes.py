"""The documented exit codes: one per outcome, and nothing else leaves the process."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Every exit status hn-wait can return; the README's table is checked against this."""

    SUCCESS = 0
    """Every followed flow succeeded (or, with no FLOW, the logbook is idle and nothing failed)."""
    FLOW_FAILED = 1
    """A followed flow failed: reverted, failed, or a state hn-wait does not know."""
    USAGE = 2
    """Usage or configuration error: bad option, no token, no app name, unsafe URL."""
    NOT_FOUND = 3
    """No flow matched within --appear-timeout, or the app's logbook stayed 404."""
    AUTH = 4
    """The API refused the token (401) or the request (403)."""
    API = 5
    """The API gave no usable answer for 5 minutes in a row, or an unexpected 4xx."""
    INTERNAL = 70
    """A bug in hn-wait itself (please report it); never used for a flow's outcome."""
    TIMEOUT = 124
    """--timeout reached while a flow was still in progress (it goes on on the Hypernode)."""
    SIGINT = 130
    """Interrupted by SIGINT (Ctrl-C): hn-wait stopped waiting; the flow is untouched."""
    SIGTERM = 143
    """Interrupted by SIGTERM: hn-wait stopped waiting; the flow is untouched."""
