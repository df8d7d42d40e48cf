"""Alerts (crawler.ops.alerts): a real local webhook receiver, a real alert command, real archives."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from archive import Archive
from crawler.ops.alerts import AlertEvent, alert_text, check_source, send_alert
from crawler.sources.config import Config, load_config
from crawler.sources.ops_tables import AlertsConfig
from tests.test_health import record_run

SECRET = "T000-B000-s3cr3t"


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every request and answers ``status``."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(
                {"path": self.path, "content_type": self.headers.get("Content-Type"), "body": json.loads(body)}
            )
            self.send_response(state.status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if state.status < 400 else b"invalid_token")

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/services/{SECRET}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/services/{SECRET}"


def recording_command(output: Path, exit_code: int = 0) -> tuple[str, ...]:
    """A real program that writes its stdin and NEWSARCHIVE_* environment to ``output``."""
    script = (
        "import json, os, sys\n"
        "data = {'stdin': sys.stdin.read(), "
        "'env': {k: v for k, v in os.environ.items() if k.startswith('NEWSARCHIVE_')}}\n"
        f"with open({str(output)!r}, 'a') as f: f.write(json.dumps(data) + '\\n')\n"
        f"sys.stderr.write('alert tool says hi'); sys.exit({exit_code})\n"
    )
    return (sys.executable, "-c", script)


def recorded_calls(output: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.read_text().splitlines()] if output.exists() else []


def sources_file(tmp_path: Path, alerts: str) -> Config:
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[archive]\ndb = "archive.db"\n\n[alerts]\n{alerts}\n\n'
        '[[sources]]\nname = "alpha"\nstart_urls = ["https://alpha.example/"]\n'
    )
    return load_config(path)


FAILED_RUN = {"id": 12, "status": "failed", "reason": "no page answered", "articles_new": 0}


def test_alert_text_is_one_slack_line_with_the_reasons() -> None:
    event = AlertEvent(
        "alpha", "unhealthy", ["3 failed runs in a row (last: run 12, failed: no page answered)"], FAILED_RUN
    )
    text = alert_text(event)
    assert text == (
        ":red_circle: newsarchive source 'alpha' is unhealthy: "
        "3 failed runs in a row (last: run 12, failed: no page answered)"
    )
    recovered = alert_text(
        AlertEvent(
            "alpha", "recovered", [], {"id": 13, "status": "succeeded", "articles_new": 4, "articles_unchanged": 2}
        )
    )
    assert (
        recovered == ":large_green_circle: newsarchive source 'alpha' recovered: run 13, succeeded, 6 articles archived"
    )
    assert "\n" not in text and "\n" not in recovered


def test_webhook_receives_a_slack_compatible_json_body(receiver: Receiver) -> None:
    event = AlertEvent("alpha", "unhealthy", ["reason one", "reason two"], FAILED_RUN)
    problems = send_alert(AlertsConfig(webhook_url=receiver.url), event)
    assert problems == []
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == f"/services/{SECRET}"
    assert request["content_type"] == "application/json"
    assert request["body"] == {
        "text": alert_text(event),
        "source": "alpha",
        "state": "unhealthy",
        "reasons": ["reason one", "reason two"],
        "run_id": 12,
        "run_status": "failed",
    }


def test_a_dead_or_refusing_webhook_gives_a_problem_not_an_exception(receiver: Receiver) -> None:
    event = AlertEvent("alpha", "unhealthy", ["reason"], None)
    unreachable = send_alert(AlertsConfig(webhook_url=closed_port_url()), event)
    assert len(unreachable) == 1
    assert "could not be reached" in unreachable[0] and "webhook_url" in unreachable[0]
    assert SECRET not in unreachable[0]

    receiver.status = 403
    refused = send_alert(AlertsConfig(webhook_url=receiver.url), event)
    assert len(refused) == 1
    assert "HTTP 403" in refused[0] and "invalid_token" in refused[0]
    assert SECRET not in refused[0]


def test_command_gets_the_text_on_stdin_and_details_in_the_environment(tmp_path: Path) -> None:
    output = tmp_path / "calls.jsonl"
    event = AlertEvent("alpha", "unhealthy", ["reason one", "reason two"], FAILED_RUN)
    assert send_alert(AlertsConfig(command=recording_command(output)), event) == []
    [call] = recorded_calls(output)
    assert call["stdin"] == alert_text(event)
    assert call["env"] == {
        "NEWSARCHIVE_SOURCE": "alpha",
        "NEWSARCHIVE_STATE": "unhealthy",
        "NEWSARCHIVE_REASONS": "reason one\nreason two",
        "NEWSARCHIVE_RUN_ID": "12",
    }


def test_a_failing_or_missing_command_gives_a_problem(tmp_path: Path) -> None:
    event = AlertEvent("alpha", "recovered", [], None)
    failing = send_alert(AlertsConfig(command=recording_command(tmp_path / "calls.jsonl", exit_code=3)), event)
    assert len(failing) == 1 and "exited with code 3" in failing[0] and "alert tool says hi" in failing[0]
    missing = send_alert(AlertsConfig(command=(str(tmp_path / "no-such-notifier"),)), event)
    assert len(missing) == 1 and "was not found" in missing[0] and "[alerts] command" in missing[0]


def test_both_channels_are_used_and_one_failing_does_not_stop_the_other(tmp_path: Path) -> None:
    output = tmp_path / "calls.jsonl"
    config = AlertsConfig(webhook_url=closed_port_url(), command=recording_command(output))
    problems = send_alert(config, AlertEvent("alpha", "unhealthy", ["reason"], None))
    assert len(problems) == 1 and "webhook" in problems[0]
    assert len(recorded_calls(output)) == 1


def test_a_source_alerts_once_when_it_turns_unhealthy_and_once_when_it_recovers(
    tmp_path: Path, receiver: Receiver
) -> None:
    output = tmp_path / "calls.jsonl"
    command = json.dumps(list(recording_command(output)))
    config = sources_file(tmp_path, f'webhook_url = "{receiver.url}"\ncommand = {command}')
    with Archive(config.archive.db) as archive:
        record_run(archive, "alpha", articles=2)
        assert check_source(archive, config, "alpha").healthy
        for _ in range(2):
            record_run(archive, "alpha", "failed", reason="no page answered")
            assert check_source(archive, config, "alpha").healthy
        assert receiver.requests == []

        third = record_run(archive, "alpha", "failed", reason="no page answered")
        verdict = check_source(archive, config, "alpha")
        assert not verdict.healthy and verdict.consecutive_failures == 3
        assert [request["body"]["state"] for request in receiver.requests] == ["unhealthy"]
        assert receiver.requests[0]["body"]["run_id"] == third["id"]
        assert receiver.requests[0]["body"]["reasons"] == verdict.reasons

        record_run(archive, "alpha", "failed", reason="no page answered")
        record_run(archive, "alpha", "skipped")
        assert not check_source(archive, config, "alpha").healthy
        assert len(receiver.requests) == 1  # still broken: no new alert
        for _ in range(40):  # a failing crawl that outlasts its interval: more skips than the window holds
            record_run(archive, "alpha", "skipped")
        assert not check_source(archive, config, "alpha").healthy
        assert len(receiver.requests) == 1  # skips are not a recovery

        good = record_run(archive, "alpha", articles=1)
        assert check_source(archive, config, "alpha").healthy
        record_run(archive, "alpha", articles=1)
        assert check_source(archive, config, "alpha").healthy

        stored = archive.source_health("alpha")
    assert [request["body"]["state"] for request in receiver.requests] == ["unhealthy", "recovered"]
    assert receiver.requests[1]["body"]["run_id"] == good["id"]
    assert receiver.requests[1]["body"]["run_status"] == "succeeded"
    assert [call["env"]["NEWSARCHIVE_STATE"] for call in recorded_calls(output)] == ["unhealthy", "recovered"]
    assert stored["healthy"] == 1 and json.loads(stored["reasons"]) == []


def test_an_undeliverable_alert_is_logged_and_the_verdict_still_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = sources_file(tmp_path, f'webhook_url = "{closed_port_url()}"\n[health]\nmax_consecutive_failures = 1')
    with Archive(config.archive.db) as archive:
        record_run(archive, "alpha", "timed_out", reason="stopped after max_runtime 60 s")
        with caplog.at_level("WARNING", logger="crawler.ops.alerts"):
            verdict = check_source(archive, config, "alpha")
        stored = archive.source_health("alpha")
    assert not verdict.healthy
    assert stored["healthy"] == 0 and json.loads(stored["reasons"]) == verdict.reasons
    messages = [record.getMessage() for record in caplog.records]
    assert any("alpha is unhealthy" in message for message in messages)
    assert any("not delivered" in message and "could not be reached" in message for message in messages)
