"""Entry point for ``python -m hn_wait`` and the ``hn-wait`` console script."""

from __future__ import annotations


def main() -> None:
    from hn_wait.cli import run

    run()


if __name__ == "__main__":
    main()
