"""Entry point for ``python -m hn_wait`` and the ``hn-wait`` console script."""

from __future__ import annotations

import signal
import sys

from hn_wait.errors import Terminated, raise_terminated
from hn_wait.exit_codes import ExitCode


def main() -> None:
    # Loading the command-line framework takes about a tenth of a second. A signal in that
    # time ends hn-wait as one during a wait does, with its exit code and one line, not with a
    # traceback from the middle of an import. (SIGINT raises KeyboardInterrupt already.)
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        # ``--version`` alone needs no command-line framework: answer it before loading one,
        # so a CI step that logs the version pays no start-up cost for it.
        if sys.argv[1:] == ["--version"]:
            from hn_wait import __version__

            sys.stdout.write(f"hn-wait {__version__}\n")
            return
        from hn_wait.cli import run

        run()
    except KeyboardInterrupt:
        _stopped(ExitCode.SIGINT, "SIGINT")
    except Terminated:
        _stopped(ExitCode.SIGTERM, "SIGTERM")


def _stopped(code: ExitCode, name: str) -> None:
    from hn_wait.output import Output
    from hn_wait.report import fail

    message = f"interrupted by {name} before the wait began; nothing was started or stopped"
    output = Output(sys.stdout, sys.stderr, quiet=False, json_mode="--json" in sys.argv[1:])
    sys.exit(fail(output, code, message))


if __name__ == "__main__":
    main()
