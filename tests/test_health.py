"""Health rules (crawler.ops.health) over crawl runs recorded in real SQLite archives with the Archive API.

`record_run` is also used by tests/test_alerts.py and tests/test_ops_cli.py.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive import Archive
from archive.models import ReasonKind
from crawler.ops.health import evaluate_health
from crawler.sources.config import load_config
from crawler.sources.ops_tables import HealthConfig

WORDS = [
    "harbour",
    "council",
    "budget",
    "storm",
    "river",
    "school",
    "museum",
    "festival",
    "railway",
    "bridge",
    "election",
    "market",
    "farmers",
    "hospital",
    "court",
    "teachers",
    "weather",
    "energy",
    "housing",
    "library",
    "ferry",
    "tourism",
    "fishing",
]
NO_TEXT_REASON = "no article text (JavaScript app shell)"


def article_text(seed: str) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(120)) + f" Reference {seed}."


def record_run(
    archive: Archive,
    source: str,
    status: str = "succeeded",
    *,
    articles: int = 0,
    no_text: int = 0,
    errors: int = 0,
    pages: int | None = None,
    reason: str | None = None,
    trigger: str = "schedule",
) -> dict[str, Any]:
    """Record one finished run the way a crawl does: start, fetches and articles, finish.

    ``pages`` is the total of fetched pages; pages beyond the articles, the pages without text
    and the errors are recorded as discovery pages (section pages, feeds).
    """
    if status == "skipped":
        return archive.run(archive.record_skipped_run(source, trigger, reason or "the previous run was still going"))
    run_id = archive.start_run(source, trigger)
    base = f"https://{source}.example/{run_id}"
    for number in range(articles):
        url = f"{base}/story-{number}"
        archive.save_article(
            run_id,
            {
                "url": url,
                "source": source,
                "title": f"Story {run_id}-{number}",
                "text": article_text(f"{source}-{run_id}-{number}"),
            },
            {"url": url, "status": 200, "content_type": "text/html"},
        )
    for number in range(no_text):
        archive.record_fetch(
            run_id,
            {"url": f"{base}/shell-{number}", "status": 200},
            "rejected",
            NO_TEXT_REASON,
            reason_kind=ReasonKind.JAVASCRIPT_SHELL,
        )
    for number in range(errors):
        archive.record_fetch(
            run_id,
            {"url": f"{base}/broken-{number}", "status": 500},
            "error",
            "HTTP 500",
            reason_kind=ReasonKind.HTTP_STATUS,
        )
    padding = (pages or 0) - articles - no_text - errors
    for number in range(max(padding, 0)):
        archive.record_fetch(run_id, {"url": f"{base}/section-{number}", "status": 200}, "discovery", "section page")
    if status == "running":
        return archive.run(run_id)
    return archive.finish_run(run_id, status, reason=reason)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive(tmp_path / "archive.db") as opened:
        yield opened


def newest_first(archive: Archive, source: str = "alpha") -> list[dict[str, Any]]:
    return archive.source_runs(source, 30)


DEFAULTS = HealthConfig()


def test_no_runs_is_healthy(archive: Archive) -> None:
    verdict = evaluate_health(newest_first(archive), DEFAULTS)
    assert verdict.healthy and verdict.reasons == [] and verdict.consecutive_failures == 0


def test_three_failures_in_a_row_make_a_source_unhealthy(archive: Archive) -> None:
    record_run(archive, "alpha", articles=2)
    record_run(archive, "alpha", "failed", reason="no page answered")
    record_run(archive, "alpha", "skipped")
    record_run(archive, "alpha", "timed_out", reason="stopped after max_runtime 60 s")
    record_run(archive, "alpha", "interrupted", reason="newsarchive was shut down")
    last = record_run(archive, "alpha", "abandoned", reason="its process ended without recording an end")

    verdict = evaluate_health(newest_first(archive), DEFAULTS)

    assert not verdict.healthy
    assert verdict.consecutive_failures == 3
    assert len(verdict.reasons) == 1
    reason = verdict.reasons[0]
    assert reason.startswith("3 failed runs in a row")
    assert f"run {last['id']}" in reason and "its process ended" in reason


def test_two_failures_or_a_success_since_keep_a_source_healthy(archive: Archive) -> None:
    record_run(archive, "alpha", articles=1)
    record_run(archive, "alpha", "failed", reason="no page answered")
    record_run(archive, "alpha", "failed", reason="no page answered")
    two_failures = evaluate_health(newest_first(archive), DEFAULTS)
    assert two_failures.healthy and two_failures.consecutive_failures == 2

    record_run(archive, "alpha", "failed", reason="no page answered")
    assert not evaluate_health(newest_first(archive), DEFAULTS).healthy
    record_run(archive, "alpha", articles=1)
    record_run(archive, "alpha", "running")
    recovered = evaluate_health(newest_first(archive), DEFAULTS)
    assert recovered.healthy and recovered.consecutive_failures == 0


def test_failure_limit_comes_from_the_sources_file(tmp_path: Path, archive: Archive) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        "[health]\nmax_consecutive_failures = 1\nzero_articles_after = 0\n\n"
        '[[sources]]\nname = "alpha"\nstart_urls = ["https://alpha.example/"]\n'
    )
    config = load_config(sources)
    record_run(archive, "alpha", "failed", reason="HTTP 503 on every page")
    verdict = evaluate_health(newest_first(archive), config.health)
    assert not verdict.healthy
    assert verdict.reasons == [
        f"1 failed run in a row (last: run {newest_first(archive)[0]['id']}, failed: HTTP 503 on every page)"
    ]


def test_a_run_archiving_nothing_after_productive_runs_is_unhealthy_until_articles_return(archive: Archive) -> None:
    for articles in (3, 1, 2):
        record_run(archive, "alpha", articles=articles, pages=articles + 2)
    empty = record_run(archive, "alpha", pages=4)

    verdict = evaluate_health(newest_first(archive), DEFAULTS)
    assert not verdict.healthy
    assert verdict.reasons == [
        f"run {empty['id']} archived no articles, while the 3 runs before it archived 1 to 3 each"
    ]

    record_run(archive, "alpha", "skipped")
    second_empty = record_run(archive, "alpha", pages=4)
    still = evaluate_health(newest_first(archive), DEFAULTS)
    assert not still.healthy
    assert f"the last 2 runs (up to run {second_empty['id']}) archived no articles" in still.reasons[0]

    record_run(archive, "alpha", articles=1, pages=3)
    assert evaluate_health(newest_first(archive), DEFAULTS).healthy


def test_an_empty_run_without_enough_productive_history_or_with_the_rule_off_is_fine(archive: Archive) -> None:
    record_run(archive, "alpha", articles=2)
    record_run(archive, "alpha", articles=2)
    record_run(archive, "alpha", pages=3)
    assert evaluate_health(newest_first(archive), DEFAULTS).healthy
    assert evaluate_health(newest_first(archive), HealthConfig(zero_articles_after=2)).healthy is False
    assert evaluate_health(newest_first(archive), HealthConfig(zero_articles_after=0)).healthy


def test_duplicates_and_unchanged_articles_count_as_archived(archive: Archive) -> None:
    for _ in range(3):
        record_run(archive, "alpha", articles=1)
    run_id = archive.start_run("alpha")
    # The same article again: "unchanged", which still shows the source delivers articles.
    url = f"https://alpha.example/{newest_first(archive)[1]['id']}/story-0"
    previous = archive.find_article(url)
    archive.save_article(
        run_id,
        {"url": url, "source": "alpha", "title": previous["title"], "text": previous["text"]},
        {"url": url, "status": 200},
    )
    run = archive.finish_run(run_id, "succeeded")
    assert run["articles_unchanged"] == 1 and run["articles_new"] == 0
    assert evaluate_health(newest_first(archive), DEFAULTS).healthy


def test_a_rise_in_pages_without_text_makes_a_source_unhealthy(archive: Archive) -> None:
    for _ in range(5):
        record_run(archive, "alpha", articles=2, no_text=1, pages=20)
    broken = record_run(archive, "alpha", articles=2, no_text=10, pages=20)

    verdict = evaluate_health(newest_first(archive), DEFAULTS)

    assert not verdict.healthy
    assert verdict.reasons == [
        f"50% of pages had no extractable text in run {broken['id']} (10 of 20), "
        "up from 5% on average over the 5 runs before"
    ]


def test_a_lasting_rise_in_pages_without_text_stays_unhealthy(archive: Archive) -> None:
    for _ in range(5):
        record_run(archive, "alpha", articles=2, no_text=1, pages=20)
    for _ in range(6):
        record_run(archive, "alpha", articles=2, no_text=16, pages=20)
    verdict = evaluate_health(newest_first(archive), DEFAULTS)
    assert not verdict.healthy
    assert "at least 80% in each of the last 6 runs, up from 5%" in verdict.reasons[0]


def test_a_small_rise_small_runs_or_the_rule_off_do_not_fire(archive: Archive) -> None:
    for _ in range(3):
        record_run(archive, "alpha", articles=2, no_text=2, pages=20)
    record_run(archive, "alpha", articles=2, no_text=5, pages=20)  # 10% -> 25%: a rise of 15%
    assert evaluate_health(newest_first(archive), DEFAULTS).healthy
    record_run(archive, "alpha", articles=1, no_text=8, pages=9)  # under 10 pages: says nothing
    assert evaluate_health(newest_first(archive), DEFAULTS).healthy
    assert not evaluate_health(newest_first(archive), HealthConfig(extraction_failure_rise=0.1)).healthy
    record_run(archive, "alpha", articles=2, no_text=18, pages=20)
    assert not evaluate_health(newest_first(archive), DEFAULTS).healthy
    assert evaluate_health(newest_first(archive), HealthConfig(extraction_failure_rise=0.0)).healthy


def test_every_broken_rule_gives_its_own_reason(archive: Archive) -> None:
    for _ in range(3):
        record_run(archive, "alpha", articles=5, pages=20)
    for _ in range(3):
        record_run(archive, "alpha", "failed", no_text=15, pages=20, reason="every page was an app shell")
    verdict = evaluate_health(newest_first(archive), DEFAULTS)
    assert not verdict.healthy
    assert len(verdict.reasons) == 3
    assert verdict.reasons[0].startswith("3 failed runs in a row")
    assert verdict.reasons[1].startswith("the last 3 runs")
    assert verdict.reasons[2].startswith("75% of pages had no extractable text")


def test_a_last_run_that_was_abandoned_makes_a_source_unhealthy_at_once(archive: Archive) -> None:
    record_run(archive, "alpha", articles=2)
    last = record_run(archive, "alpha", "abandoned", reason="the crawl process (pid 4242 on host) is gone")
    record_run(archive, "alpha", "skipped")
    verdict = evaluate_health(newest_first(archive), DEFAULTS)
    assert not verdict.healthy and verdict.consecutive_failures == 1
    assert verdict.reasons == [
        f"the last run died without recording an end (run {last['id']}, abandoned: the crawl process "
        "(pid 4242 on host) is gone)"
    ]
    record_run(archive, "alpha", articles=1)
    assert evaluate_health(newest_first(archive), DEFAULTS).healthy


def test_a_reextraction_run_is_no_crawl_of_the_source(archive: Archive) -> None:
    for articles in (3, 1, 2):
        record_run(archive, "alpha", articles=articles, pages=articles + 2)
    reextraction = record_run(archive, "alpha", trigger="reextract")  # fetches nothing, archives no article
    runs = newest_first(archive)
    assert runs[0]["id"] == reextraction["id"] and runs[0]["articles_new"] == 0
    assert evaluate_health(runs, DEFAULTS).healthy
