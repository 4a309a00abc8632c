"""The API token, wrapped so that it cannot reach a log line, a repr or a traceback by accident."""

from __future__ import annotations

REDACTED = "***"


class Secret:
    """A string that prints as ``***``; only :meth:`reveal` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """Replace every occurrence of the secret in ``text`` (defence in depth for output)."""
        if len(self._value) < 4:
            # Too short to redact without mangling ordinary text; config refuses such tokens.
            return text
        return text.replace(self._value, REDACTED)

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not to be pickled")


def redact_all(text: str, secret: Secret | None) -> str:
    """``secret.redact(text)`` when there is a secret, else ``text``."""
    return secret.redact(text) if secret is not None else text
