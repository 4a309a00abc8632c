"""What the terminal can show: colour by the usual conventions, and whether to draw live.

Pure functions of the environment and of whether the stream is a terminal, so every
combination is tested without a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping

SGR = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
}


def wants_colour(env: Mapping[str, str], isatty: bool) -> bool:
    """Colour unless ``NO_COLOR`` is set; forced by ``FORCE_COLOR``; never for ``TERM=dumb``.

    See no-color.org and force-color.org: ``NO_COLOR`` wins when both are set, and
    ``FORCE_COLOR=0`` (or ``false``) asks for no forcing.
    """
    if env.get("NO_COLOR"):
        return False
    force = env.get("FORCE_COLOR")
    if force is not None and force.strip().lower() not in ("0", "false", "no"):
        return True
    if env.get("TERM") == "dumb":
        return False
    return isatty


def wants_live(env: Mapping[str, str], isatty: bool, *, no_progress: bool, quiet: bool) -> bool:
    """The live display needs a real terminal that can move its cursor, and is optional."""
    if no_progress or quiet or not isatty:
        return False
    return env.get("TERM", "") != "dumb"


def paint(text: str, style: str, enabled: bool) -> str:
    """``text`` in an SGR style (``"bold red"``) when colour is enabled, else unchanged."""
    if not enabled or not text:
        return text
    codes = ";".join(SGR[word] for word in style.split() if word in SGR)
    return f"\x1b[{codes}m{text}\x1b[0m" if codes else text
