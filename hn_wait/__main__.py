"""Entry point for ``python -m hn_wait`` and the ``hn-wait`` console script."""

from __future__ import annotations

import signal
import sys


class _Terminated(BaseException):
    """SIGTERM before the command's own handler is in place (``cli.execute`` sets that)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def main() -> None:
    # Loading the command-line framework takes about a tenth of a second. A signal in that
    # time ends hn-wait as one during a wait does, with its exit code and one line, not with a
    # traceback from the middle of an import. (SIGINT raises KeyboardInterrupt already.)
    signal.signal(signal.SIGTERM, _on_sigterm)
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
        _stopped(130, "SIGINT")
    except _Terminated:
        _stopped(143, "SIGTERM")


def _stopped(code: int, name: str) -> None:
    import time

    from hn_wait.output import Output
    from hn_wait.render import error_json

    message = f"interrupted by {name} before the wait began; nothing was started or stopped"
    output = Output(sys.stdout, sys.stderr, quiet=False, json_mode="--json" in sys.argv[1:])
    output.error(f"hn-wait: {message}")
    if output.json_mode:
        output.document(error_json("interrupted", code, message, time.time()))
    sys.exit(code)


if __name__ == "__main__":
    main()
