"""Scheduler metrics: scraped over real HTTP from 127.0.0.1, parsed as Prometheus would."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crawler.ops.metrics import RUN_DURATION_BUCKETS, SchedulerMetrics


def crawl_run(run_id: int, source: str = "example", status: str = "succeeded", **columns) -> dict:
    """A finished crawl_runs row as the archive returns it."""
    row = {
        "id": run_id,
        "source": source,
        "trigger": "schedule",
        "status": status,
        "started_at": "2026-11-24T23:40:00.000Z",
        "finished_at": "2026-11-24T23:50:01.500Z",
        "duration_s": 601.5,
        "pages_fetched": 40,
        "articles_new": 7,
        "articles_unchanged": 20,
        "articles_updated": 2,
        "articles_duplicate": 1,
        "articles_rejected": 10,
        "errors": 3,
    }
    row.update(columns)
    return row


def samples(exposition: bytes) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, keyed by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition.decode("utf-8"))
        for sample in family.samples
    }


def value(series: dict, name: str, **labels: str) -> float | None:
    return series.get((name, frozenset(labels.items())))


def scrape(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read()


@pytest.fixture
def metrics() -> Iterator[SchedulerMetrics]:
    scheduler_metrics = SchedulerMetrics()
    yield scheduler_metrics
    scheduler_metrics.stop_server()


def test_scrape_over_http_shows_every_series_with_its_value(metrics: SchedulerMetrics) -> None:
    port = metrics.start_server(port=0)
    assert port > 0
    metrics.observe_run(crawl_run(1))
    metrics.observe_run(
        crawl_run(
            2,
            status="failed",
            duration_s=12.0,
            finished_at="2026-11-25T00:10:00.000Z",
            articles_new=1,
            articles_unchanged=0,
            articles_updated=0,
            articles_duplicate=0,
            errors=50,
        )
    )
    metrics.observe_run(crawl_run(3, source="other", duration_s=0.4, errors=None, articles_new=None))
    next_run = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    metrics.set_next_run("example", next_run)

    series = samples(scrape(port))

    assert value(series, "newsarchive_runs_total", source="example", status="succeeded") == 1
    assert value(series, "newsarchive_runs_total", source="example", status="failed") == 1
    assert value(series, "newsarchive_runs_total", source="other", status="succeeded") == 1
    assert value(series, "newsarchive_articles_archived_total", source="example", outcome="new") == 8
    assert value(series, "newsarchive_articles_archived_total", source="example", outcome="unchanged") == 20
    assert value(series, "newsarchive_articles_archived_total", source="example", outcome="updated") == 2
    assert value(series, "newsarchive_articles_archived_total", source="example", outcome="duplicate") == 1
    assert value(series, "newsarchive_articles_archived_total", source="other", outcome="new") == 0  # NULL
    assert value(series, "newsarchive_fetch_errors_total", source="example") == 53
    assert value(series, "newsarchive_fetch_errors_total", source="other") == 0
    assert value(series, "newsarchive_run_duration_seconds_count", source="example") == 2
    assert value(series, "newsarchive_run_duration_seconds_sum", source="example") == pytest.approx(613.5)
    assert value(series, "newsarchive_run_duration_seconds_bucket", source="example", le="15.0") == 1
    assert value(series, "newsarchive_run_duration_seconds_bucket", source="example", le="900.0") == 2
    assert value(series, "newsarchive_run_duration_seconds_bucket", source="other", le="1.0") == 1
    # Only the succeeded run counts as the last success, not the later failed one.
    last_success = datetime(2026, 11, 24, 23, 50, 1, 500000, tzinfo=UTC).timestamp()
    assert value(series, "newsarchive_last_success_timestamp_seconds", source="example") == last_success
    assert value(series, "newsarchive_next_run_timestamp_seconds", source="example") == next_run.timestamp()
    assert value(series, "newsarchive_next_run_timestamp_seconds", source="other") is None


def test_skipped_run_is_counted_but_records_no_duration(metrics: SchedulerMetrics) -> None:
    metrics.observe_run(
        crawl_run(
            1,
            status="skipped",
            duration_s=0,
            pages_fetched=0,
            articles_new=0,
            articles_unchanged=0,
            articles_updated=0,
            articles_duplicate=0,
            errors=0,
        )
    )
    series = samples(metrics.exposition())
    assert value(series, "newsarchive_runs_total", source="example", status="skipped") == 1
    assert value(series, "newsarchive_run_duration_seconds_count", source="example") is None
    assert value(series, "newsarchive_last_success_timestamp_seconds", source="example") is None


def test_last_success_keeps_the_latest_when_runs_arrive_out_of_order(metrics: SchedulerMetrics) -> None:
    metrics.observe_run(crawl_run(2, finished_at="2026-11-25T06:00:00Z"))
    metrics.observe_run(crawl_run(1, finished_at="2026-11-24T06:00:00Z"))
    series = samples(metrics.exposition())
    latest = datetime(2026, 11, 25, 6, tzinfo=UTC).timestamp()
    assert value(series, "newsarchive_last_success_timestamp_seconds", source="example") == latest


def test_next_run_moves_and_disappears_when_unscheduled(metrics: SchedulerMetrics) -> None:
    first = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    metrics.set_next_run("example", first)
    metrics.set_next_run("example", first + timedelta(hours=6))
    series = samples(metrics.exposition())
    assert value(series, "newsarchive_next_run_timestamp_seconds", source="example") == first.timestamp() + 6 * 3600
    metrics.set_next_run("example", None)
    metrics.set_next_run("never-scheduled", None)
    assert value(samples(metrics.exposition()), "newsarchive_next_run_timestamp_seconds", source="example") is None


def test_bad_input_is_refused_with_the_fix(metrics: SchedulerMetrics) -> None:
    with pytest.raises(ValueError, match="observe a run only after it has finished"):
        metrics.observe_run(crawl_run(1, status="running"))
    with pytest.raises(ValueError, match="timezone-aware"):
        metrics.set_next_run("example", datetime(2026, 11, 25, 6, 0))
    with pytest.raises(ValueError, match="finished_at"):
        metrics.observe_run(crawl_run(2, finished_at="yesterday"))
    with pytest.raises(ValueError, match="counts cannot be negative"):
        metrics.observe_run(crawl_run(3, errors=-1))
    assert value(samples(metrics.exposition()), "newsarchive_runs_total", source="example", status="succeeded") is None


def test_duration_buckets_span_one_second_to_six_hours() -> None:
    assert RUN_DURATION_BUCKETS[0] == 1 and RUN_DURATION_BUCKETS[-1] == 6 * 3600
    assert list(RUN_DURATION_BUCKETS) == sorted(set(RUN_DURATION_BUCKETS))


def test_each_object_has_its_own_registry() -> None:
    first, second = SchedulerMetrics(), SchedulerMetrics()  # would raise "Duplicated timeseries" if global
    first.observe_run(crawl_run(1))
    assert value(samples(second.exposition()), "newsarchive_runs_total", source="example", status="succeeded") is None


def test_stop_server_frees_the_port(metrics: SchedulerMetrics) -> None:
    port = metrics.start_server("127.0.0.1", 0)
    scrape(port)
    with pytest.raises(RuntimeError, match="call stop_server"):
        metrics.start_server()
    metrics.stop_server()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR tolerates the closed connection's TIME_WAIT, never a socket still listening.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # raises if the port were still held
        probe.listen()
    assert metrics.start_server(port=port) == port  # and the metrics can be served there again
    metrics.stop_server()
    metrics.stop_server()  # stopping twice is harmless


def test_start_server_on_a_taken_port_names_it(metrics: SchedulerMetrics) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot serve metrics on 127.0.0.1:{taken}"):
            metrics.start_server(port=taken)
