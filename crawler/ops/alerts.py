"""Alerts when a source turns unhealthy or recovers: a webhook POST and/or a local command.

Driven by the sources file's ``[alerts]`` table (`AlertsConfig`): ``webhook_url`` receives a JSON
body whose ``text`` is one Slack-compatible line (Slack, Mattermost, Rocket.Chat and most chat
webhooks accept it as is) plus machine-readable fields; ``command`` is an argument list run without
a shell, with the same line on stdin and the details in NEWSARCHIVE_SOURCE, NEWSARCHIVE_STATE,
NEWSARCHIVE_REASONS (one per line) and NEWSARCHIVE_RUN_ID. The rules come from ``[health]``
(crawler.ops.health).

`check_source` is what the scheduler calls after every run: it evaluates the source, stores the
verdict in the archive's ``source_health`` table and alerts only on a change of state, so a source
that stays broken alerts once, not after every run. Sending never raises: problems come back as
strings (and are logged), because an unreachable chat server must not stop the crawls.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from archive import Archive
from archive.models import RunStatus
from crawler.ops.health import HealthVerdict, articles_archived, describe_run_result, evaluate_health
from crawler.sources.config import Config
from crawler.sources.ops_tables import AlertsConfig

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 30.0
RUNS_EVALUATED = 30
PROBLEM_OUTPUT_CHARS = 300

AlertState = Literal["unhealthy", "recovered"]


@dataclass(frozen=True)
class AlertEvent:
    """A change of a source's health worth telling someone about."""

    source: str
    state: AlertState
    reasons: Sequence[str] = field(default_factory=tuple)
    run: Mapping[str, Any] | None = None


def alert_text(event: AlertEvent) -> str:
    """One line for a chat channel, e.g. ":red_circle: newsarchive source 'x' is unhealthy: …"."""
    if event.state == "unhealthy":
        reasons = "; ".join(event.reasons) or "no reason recorded"
        return f":red_circle: newsarchive source '{event.source}' is unhealthy: {reasons}"
    text = f":large_green_circle: newsarchive source '{event.source}' recovered"
    if event.run is not None:
        text += f": {describe_run_result(event.run)}, {articles_archived(event.run)} articles archived"
    return text


def alert_payload(event: AlertEvent) -> dict[str, Any]:
    """The webhook's JSON body: Slack's ``text`` plus fields for machines."""
    return {
        "text": alert_text(event),
        "source": event.source,
        "state": event.state,
        "reasons": list(event.reasons),
        "run_id": event.run.get("id") if event.run is not None else None,
        "run_status": event.run.get("status") if event.run is not None else None,
    }


def send_alert(config: AlertsConfig, event: AlertEvent) -> list[str]:
    """Send the alert to every configured channel; the problems met (empty when all went well)."""
    problems: list[str] = []
    if config.webhook_url:
        problem = post_webhook(config.webhook_url, alert_payload(event))
        if problem:
            problems.append(problem)
    if config.command:
        problem = run_alert_command(config.command, event)
        if problem:
            problems.append(problem)
    return problems


def redacted_url(url: str) -> str:
    """Scheme, host and port only: webhook paths usually carry the secret token, and a user name and
    password (``https://user:token@host/``) are secrets too."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}/…" if parts.path.strip("/") else f"{parts.scheme}://{host}"


def post_webhook(url: str, payload: Mapping[str, Any]) -> str | None:
    """POST the payload as JSON; a problem string (never an exception) when it did not arrive."""
    shown = redacted_url(url)
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "newsarchive-alerts"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as error:
        body = error.read(PROBLEM_OUTPUT_CHARS).decode("utf-8", "replace").strip()
        detail = f": {body}" if body else ""
        return (
            f"alert webhook {shown} answered HTTP {error.code} {error.reason}{detail} "
            "(check [alerts] webhook_url in the sources file)"
        )
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return (
            f"alert webhook {shown} could not be reached: {reason} "
            "(check [alerts] webhook_url and that this machine can reach it)"
        )
    return None


def alert_environment(event: AlertEvent) -> dict[str, str]:
    run_id = event.run.get("id") if event.run is not None else None
    return {
        "NEWSARCHIVE_SOURCE": event.source,
        "NEWSARCHIVE_STATE": event.state,
        "NEWSARCHIVE_REASONS": "\n".join(event.reasons),
        "NEWSARCHIVE_RUN_ID": "" if run_id is None else str(run_id),
    }


def run_alert_command(command: Sequence[str], event: AlertEvent) -> str | None:
    """Run the alert command (no shell) with the text on stdin; a problem string when it failed."""
    shown = " ".join(command)
    try:
        completed = subprocess.run(
            list(command),
            input=alert_text(event),
            text=True,
            capture_output=True,
            env={**os.environ, **alert_environment(event)},
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        return (
            f"alert command {command[0]!r} was not found "
            "(check [alerts] command in the sources file; give the program's full path)"
        )
    except subprocess.TimeoutExpired:
        return f"alert command `{shown}` did not finish within {COMMAND_TIMEOUT_S:.0f} s and was killed"
    except OSError as error:
        return f"alert command `{shown}` could not be started: {error} (check that it is an executable file)"
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout or "").strip()[-PROBLEM_OUTPUT_CHARS:]
        detail = f": {output}" if output else ""
        return f"alert command `{shown}` exited with code {completed.returncode}{detail}"
    return None


def check_source(archive: Archive, config: Config, source: str) -> HealthVerdict:
    """Evaluate a source from its recent runs, store the verdict, and alert when its state changed."""
    runs = archive.source_runs(source, RUNS_EVALUATED, include_skipped=False)  # see health.JUDGED_STATUSES
    verdict = evaluate_health(runs, config.health)
    newest_run_id = runs[0]["id"] if runs else None
    changed = archive.set_source_health(source, verdict.healthy, verdict.reasons, newest_run_id)
    if not changed:
        return verdict
    state: AlertState = "recovered" if verdict.healthy else "unhealthy"
    event = AlertEvent(source=source, state=state, reasons=tuple(verdict.reasons), run=last_completed_run(runs))
    if verdict.healthy:
        logger.info("Source %s recovered", source)
    else:
        logger.warning("Source %s is unhealthy: %s", source, "; ".join(verdict.reasons))
    for problem in send_alert(config.alerts, event):
        logger.warning("Alert for source %s not delivered: %s", source, problem)
    return verdict


def last_completed_run(runs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest run that actually crawled and ended (not skipped, not still running)."""
    for run in runs:
        if run.get("status") not in (RunStatus.SKIPPED, RunStatus.RUNNING):
            return run
    return runs[0] if runs else None
