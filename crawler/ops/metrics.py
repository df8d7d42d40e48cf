"""Prometheus metrics for the scheduler: runs, articles, errors, durations, last success, next run.

Optional: the scheduler creates one :class:`SchedulerMetrics` when its metrics setting is on,
serves it with :meth:`SchedulerMetrics.start_server` on the configured host and port, and calls
:meth:`~SchedulerMetrics.observe_run` with each finished ``crawl_runs`` row and
:meth:`~SchedulerMetrics.set_next_run` whenever a source's next run time changes.
Each object owns its own ``CollectorRegistry``, so nothing is registered globally and several
schedulers (or tests) in one process do not collide.

Series (all labelled by ``source``):
``newsarchive_runs_total{status}``, ``newsarchive_articles_archived_total{outcome}``,
``newsarchive_fetch_errors_total``, ``newsarchive_run_duration_seconds`` (histogram),
``newsarchive_last_success_timestamp_seconds`` and ``newsarchive_next_run_timestamp_seconds``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server

from archive.dates import parse_utc
from archive.models import ARTICLE_OUTCOMES, FINAL_RUN_STATUSES, RunStatus

# From a one-second feed poll to a six-hour deep crawl (the longest a run may take).
RUN_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
SKIPPED = RunStatus.SKIPPED
SUCCEEDED = RunStatus.SUCCEEDED


def run_count(run: Mapping, column: str) -> int:
    """A count column of a crawl_runs row; NULL (a run that never got that far) counts as 0."""
    value = run.get(column) or 0
    if value < 0:
        raise ValueError(
            f"crawl run {run.get('id')} has {column} = {value}: counts cannot be negative; fix the row in crawl_runs"
        )
    return int(value)


def finished_timestamp(run: Mapping) -> float | None:
    """Unix time of a run's finished_at, or None when it has none."""
    finished_at = run.get("finished_at")
    if not finished_at:
        return None
    try:
        return parse_utc(str(finished_at)).timestamp()
    except ValueError as error:
        raise ValueError(
            f"crawl run {run.get('id')} has finished_at {finished_at!r}, not ISO 8601 UTC "
            "(like 2026-11-24T23:50:01.123Z): fix the row in crawl_runs"
        ) from error


class SchedulerMetrics:
    """The scheduler's metrics, in a registry of their own, optionally served over HTTP."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "newsarchive_runs_total",
            "Crawl runs that finished, by final status.",
            ["source", "status"],
            registry=self.registry,
        )
        self.articles = Counter(
            "newsarchive_articles_archived_total",
            "Articles archived by crawl runs, by outcome (new, unchanged, updated, duplicate).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.fetch_errors = Counter(
            "newsarchive_fetch_errors_total", "Fetch errors counted by crawl runs.", ["source"], registry=self.registry
        )
        self.run_duration = Histogram(
            "newsarchive_run_duration_seconds",
            "Wall-clock duration of crawl runs that were not skipped.",
            ["source"],
            buckets=RUN_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.last_success = Gauge(
            "newsarchive_last_success_timestamp_seconds",
            "Unix time at which the source's last successful crawl run finished.",
            ["source"],
            registry=self.registry,
        )
        self.next_run = Gauge(
            "newsarchive_next_run_timestamp_seconds",
            "Unix time of the source's next scheduled crawl run.",
            ["source"],
            registry=self.registry,
        )
        self._last_success_by_source: dict[str, float] = {}
        self._server: WSGIServer | None = None
        self._server_thread: threading.Thread | None = None

    def start_server(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve ``/metrics`` on ``host:port`` in a background thread; returns the bound port (0 = any free)."""
        if self._server is not None:
            raise RuntimeError(
                f"the metrics server is already serving on port {self._server.server_port}: "
                "call stop_server() before starting it again"
            )
        try:
            self._server, self._server_thread = start_http_server(port, host, registry=self.registry)
        except OSError as error:
            raise OSError(
                f"cannot serve metrics on {host}:{port}: {error}; "
                "choose a free port (or 0 for any) in the metrics settings"
            ) from error
        return int(self._server.server_port)

    def stop_server(self) -> None:
        """Stop serving and free the port; does nothing when not serving."""
        server, thread = self._server, self._server_thread
        self._server = self._server_thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def observe_run(self, run: Mapping) -> None:
        """Count one finished crawl_runs row (a dict); skipped runs are counted but have no duration."""
        status = run.get("status")
        if status not in FINAL_RUN_STATUSES:
            raise ValueError(
                f"crawl run {run.get('id')} has status {status!r}, not a final one "
                f"({', '.join(FINAL_RUN_STATUSES)}): observe a run only after it has finished"
            )
        # Read and check the whole row first, so a bad row changes no metric at all.
        source = str(run["source"])
        articles = {outcome: run_count(run, f"articles_{outcome}") for outcome in ARTICLE_OUTCOMES}
        errors = run_count(run, "errors")
        duration = run.get("duration_s")
        finished = finished_timestamp(run) if status == SUCCEEDED else None
        self.runs.labels(source, status).inc()
        for outcome, count in articles.items():
            self.articles.labels(source, outcome).inc(count)
        self.fetch_errors.labels(source).inc(errors)
        if status != SKIPPED and duration is not None:
            self.run_duration.labels(source).observe(max(0.0, float(duration)))
        if status == SUCCEEDED:
            self._record_success(source, finished)

    def _record_success(self, source: str, finished: float | None) -> None:
        # Runs may be observed out of order (e.g. replayed from the archive): keep the latest.
        if finished is None or finished <= self._last_success_by_source.get(source, float("-inf")):
            return
        self._last_success_by_source[source] = finished
        self.last_success.labels(source).set(finished)

    def set_next_run(self, source: str, when: datetime | None) -> None:
        """Publish when ``source`` runs next; None (paused, removed) drops its series."""
        if when is None:
            try:
                self.next_run.remove(source)
            except KeyError:
                pass  # never had a next run
            return
        if when.tzinfo is None:
            raise ValueError(
                f"next run of {source!r} is a naive datetime ({when.isoformat()}): "
                "pass a timezone-aware datetime (e.g. with tzinfo=timezone.utc)"
            )
        self.next_run.labels(source).set(when.timestamp())

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format, as served at /metrics."""
        return generate_latest(self.registry)
