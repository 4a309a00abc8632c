"""Speaking the CI system's own language: GitHub workflow commands, step summary and step
outputs; GitLab collapsible sections. Pure text; the reporter writes it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

from hn_wait.events import Outcome, OutcomeKind
from hn_wait.flows import Flow
from hn_wait.timefmt import format_duration

NONE, GITHUB, GITLAB = "none", "github", "gitlab"
CHOICES = ("auto", GITHUB, GITLAB, NONE)

SUMMARY_MAX_FLOWS = 50
SUMMARY_MAX_TEXT = 4000
"""The step summary stays a few kilobytes; GitHub's limit is 1 MiB per step."""


def detect(choice: str, env: Mapping[str, str]) -> str:
    """The CI system to speak to: as asked, or (``auto``) the one the environment says."""
    if choice != "auto":
        return choice
    if env.get("GITHUB_ACTIONS") == "true":
        return GITHUB
    if env.get("GITLAB_CI") == "true":
        return GITLAB
    return NONE


# GitHub Actions ---------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as the runner requires."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: like data, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def group_start(title: str) -> str:
    return workflow_command("group", title)


def group_end() -> str:
    return "::endgroup::"


def _subject(outcome: Outcome) -> str:
    flows = outcome.failed or outcome.flows
    names = ", ".join(f"{f.name} {f.short_uuid}" for f in flows[:3])
    if len(flows) > 3:
        names += f" and {len(flows) - 3} more"
    return names or ", ".join(repr(text) for text in outcome.unmatched) or "the logbook"


_TITLES = {
    OutcomeKind.SUCCESS: "{subject} succeeded on app {app}",
    OutcomeKind.FAILURE: "{subject} failed on app {app}",
    OutcomeKind.NOT_FOUND: "no flow {subject} found on app {app}",
    OutcomeKind.TIMEOUT: "timed out waiting for {subject} on app {app}",
    OutcomeKind.AUTH_ERROR: "the Hypernode API refused the token for app {app}",
    OutcomeKind.API_ERROR: "the Hypernode API was unusable for app {app}",
    OutcomeKind.INTERRUPTED: "interrupted while waiting for {subject} on app {app}",
}


def title(outcome: Outcome) -> str:
    return "hn-wait: " + _TITLES[outcome.kind].format(subject=_subject(outcome), app=outcome.app)


def annotation(outcome: Outcome, message: str) -> str:
    """``::notice`` on success, ``::error`` for every other end, with the full message."""
    if outcome.kind is OutcomeKind.SUCCESS:
        lines = [f"{f.name} {f.uuid} {f.state_label}" for f in outcome.flows]
        text = "; ".join(lines) or f"the logbook of app {outcome.app} is idle"
        return workflow_command("notice", text, title=title(outcome))
    return workflow_command("error", message or title(outcome), title=title(outcome))


def error_annotation(message: str) -> str:
    """An ``::error`` for a problem found before any wait (configuration, usage)."""
    return workflow_command("error", message, title="hn-wait: could not start waiting")


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _utc(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _took(flow: Flow) -> str:
    if flow.created_at is None or flow.updated_at is None or not flow.phase.terminal:
        return "-"
    return format_duration(max(flow.updated_at - flow.created_at, 0.0))


def step_summary(outcome: Outcome, message: str) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY``: a heading, a table of flows, the message."""
    mark = "✅" if outcome.kind is OutcomeKind.SUCCESS else "❌"
    lines = [f"### {mark} {_cell(title(outcome))}", ""]
    flows = outcome.flows
    if flows:
        lines += ["| flow | uuid | state | tasks | started | took |", "|---|---|---|---|---|---|"]
        for flow in flows[:SUMMARY_MAX_FLOWS]:
            progress = flow.progress
            tasks = f"{progress.completed}/{progress.total}" if progress is not None else "?"
            lines.append(
                f"| {_cell(flow.name)} | `{_cell(flow.uuid)}` | {_cell(flow.state_label)} | "
                f"{tasks} | {_utc(flow.created_at)} | {_took(flow)} |"
            )
        if len(flows) > SUMMARY_MAX_FLOWS:
            lines.append(f"| … {len(flows) - SUMMARY_MAX_FLOWS} more | | | | | |")
        lines.append("")
    if message:
        text = message if len(message) <= SUMMARY_MAX_TEXT else message[:SUMMARY_MAX_TEXT] + "…"
        lines += [f"> {_cell(text)}", ""]
    lines.append(
        f"_{outcome.kind.value}, exit code {int(outcome.exit_code)}, after "
        f"{format_duration(outcome.elapsed)} and {outcome.requests} API requests_"
    )
    return "\n".join(lines) + "\n\n"


def step_outputs(outcome: Outcome) -> dict[str, str]:
    """What later steps read as ``steps.<id>.outputs.<name>``; several flows space-separated."""
    return {
        "outcome": outcome.kind.value,
        "exit_code": str(int(outcome.exit_code)),
        "flow_uuid": " ".join(f.uuid for f in outcome.flows),
        "flow_state": " ".join(f.state_label.replace(" ", "_") for f in outcome.flows),
    }


def format_outputs(values: Mapping[str, str]) -> str:
    """``name=value`` lines for ``$GITHUB_OUTPUT``; values are made single-line first."""
    return "".join(f"{key}={_one_line(value)}\n" for key, value in values.items())


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", text)


# GitLab CI ----------------------------------------------------------------------------

ERASE_LINE = "\x1b[0K"


def section_name(seed: float) -> str:
    """A section name GitLab accepts (letters, digits, ``_ . -``), unique per run."""
    return f"hn_wait_{int(seed * 1000)}"


def section_start(name: str, header: str, now: float, *, collapsed: bool = True) -> str:
    options = "[collapsed=true]" if collapsed else ""
    header = header.replace("\r", " ").replace("\n", " ")
    return f"{ERASE_LINE}section_start:{int(now)}:{name}{options}\r{ERASE_LINE}{header}"


def section_end(name: str, now: float) -> str:
    return f"{ERASE_LINE}section_end:{int(now)}:{name}\r{ERASE_LINE}"
