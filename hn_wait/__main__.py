"""Entry point for ``python -m hn_wait`` and the ``hn-wait`` console script."""

from __future__ import annotations

import sys


def main() -> None:
    # ``--version`` alone needs no command-line framework: answer it before loading one, so a
    # CI step that logs the version pays no start-up cost for it.
    if sys.argv[1:] == ["--version"]:
        from hn_wait import __version__

        sys.stdout.write(f"hn-wait {__version__}\n")
        return
    from hn_wait.cli import run

    run()


if __name__ == "__main__":
    main()
