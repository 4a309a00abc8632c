"""The CLI's safety net, in process: whatever goes wrong ends in one line and a code."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping

from hn_wait.cli import execute
from hn_wait.config import RawOptions
from hn_wait.exit_codes import ExitCode
from hn_wait.output import Output


class ExplodingEnv(Mapping[str, str]):
    """An environment that fails on every read: stands in for any bug after parsing."""

    def __getitem__(self, key: str) -> str:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        return 1

    def __contains__(self, key: object) -> bool:
        raise RuntimeError("boom")


def test_a_bug_exits_70_with_one_line_and_no_traceback() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = execute(
        RawOptions(app="shop", api_url="https://api.hypernode.com", flows=("xgrade_app",)),
        Output(out, err, quiet=False, json_mode=True),
        env=ExplodingEnv(),
    )
    assert code == ExitCode.INTERNAL == 70
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0] == "hn-wait: internal error (RuntimeError: boom); please report this bug"
    doc = json.loads(out.getvalue())
    assert doc["outcome"] == "internal_error" and doc["exit_code"] == 70


def test_every_output_line_is_scrubbed_of_the_token() -> None:
    from hn_wait.secret import Secret

    out, err = io.StringIO(), io.StringIO()
    output = Output(out, err, quiet=False, json_mode=False)
    output.secret = Secret("s3cr3t-token-value")
    output.error("echo s3cr3t-token-value here")
    output.result("and s3cr3t-token-value there")
    output.document({"x": "s3cr3t-token-value"})
    assert "s3cr3t" not in out.getvalue() + err.getvalue()
    assert "***" in err.getvalue()
