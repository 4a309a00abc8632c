"""Where text goes: stdout for results, stderr for progress and errors.

Every line passes through token redaction, and a reader that went away (``| head``) ends
the writing quietly instead of with a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from typing import IO, Any

from hn_wait.secret import Secret, redact_all


class Output:
    """The two streams of the command, and what the user asked of them."""

    def __init__(
        self,
        out: IO[str],
        err: IO[str],
        *,
        quiet: bool,
        json_mode: bool,
        ndjson: bool = False,
    ) -> None:
        self.out = out
        self.err = err
        self.quiet = quiet
        self.json_mode = json_mode or ndjson
        """Whether the last thing on stdout is a JSON document (``--json`` or ``ndjson``)."""
        self.ndjson = ndjson
        self.secret: Secret | None = None

    def redact(self, text: str) -> str:
        return redact_all(text, self.secret)

    def _write(self, stream: IO[str], text: str) -> None:
        try:
            stream.write(self.redact(text) + "\n")
            stream.flush()
        except BrokenPipeError:
            # Nothing more can be said there, and Python must not complain at exit either.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError):
            pass

    def result(self, text: str) -> None:
        self._write(self.out, text)

    def error(self, text: str) -> None:
        self._write(self.err, text)

    def progress(self, text: str) -> None:
        if not self.quiet:
            self._write(self.err, text)

    def document(self, data: Mapping[str, Any]) -> None:
        """The final JSON document: pretty for ``--json``, one line for ``ndjson``."""
        if self.ndjson:
            self.record(data)
        else:
            self._write(self.out, json.dumps(data, indent=2))

    def record(self, data: Mapping[str, Any]) -> None:
        """One line of the ndjson stream."""
        self._write(self.out, json.dumps(data, separators=(",", ":"), ensure_ascii=False))
