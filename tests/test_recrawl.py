"""The rules of recurring crawls (crawler.discovery.recrawl), as data: the revisit ladder, what a
URL met in a sitemap, feed or link is fetched for, change signals (malformed, date-only and future
lastmods among them), due revisits within the budget, removal, and the state stored after a fetch.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive.models import FetchOutcome, FoundBy, UrlKind
from crawler.discovery.recrawl import (
    FetchFacts,
    Fetching,
    KnownUrl,
    KnownUrls,
    RevisitPolicy,
    Visit,
    decide,
    dropped_from_sitemap,
    due_revisits,
    fetched_every_run,
    is_section_front,
    known_url,
    link_signal,
    removal_status,
    signal_time,
    state_after_fetch,
)
from crawler.sources.config import adhoc_source

HOUR = 3600.0
DAY = 24 * HOUR
LADDER = (HOUR, 6 * HOUR, DAY, 7 * DAY)
POLICY = RevisitPolicy(LADDER, max_age=30 * DAY, budget=500)
FETCHED = datetime(2025, 3, 10, 12, 0, tzinfo=UTC).timestamp()


def known(**fields: object) -> KnownUrl:
    base = KnownUrl(
        url="https://news.example/2025/03/10/story/",
        kind=UrlKind.PAGE,
        found_by=FoundBy.SITEMAP,
        hops=0,
        listed_in=None,
        hints=None,
        signal=None,
        discovered_at=FETCHED - 60,
        fetched_at=FETCHED,
        status=200,
        outcome=FetchOutcome.NEW,
        etag='"abc"',
        last_modified="Mon, 10 Mar 2025 11:00:00 GMT",
        body_hash="0" * 32,
        article_id=7,
        published_at=FETCHED - HOUR,
        content_changed_at=FETCHED,
        unchanged_count=0,
        next_due_at=FETCHED + HOUR,
        removed_at=None,
    )
    return replace(base, **fields)


# -- the revisit ladder --------------------------------------------------------------------------


def test_policy_defaults_come_from_the_sources_file_keys() -> None:
    policy = RevisitPolicy.of(adhoc_source("https://news.example/"))
    assert policy == RevisitPolicy(LADDER, 30 * DAY, 500)


@given(st.integers(min_value=0, max_value=50), st.floats(min_value=0, max_value=29 * DAY))
def test_the_interval_grows_with_each_unchanged_fetch_and_the_last_repeats(count: int, age: float) -> None:
    now = FETCHED
    due = POLICY.next_due(now, count, now - age)
    assert due == now + LADDER[min(count, len(LADDER) - 1)]
    assert POLICY.next_due(now, count + 1, now - age) >= due


def test_no_revisit_past_max_age_or_with_an_empty_ladder() -> None:
    assert POLICY.next_due(FETCHED, 0, FETCHED - 31 * DAY) is None
    assert RevisitPolicy((), 30 * DAY, 500).next_due(FETCHED, 0, FETCHED) is None


# -- what a met URL is fetched for ---------------------------------------------------------------


def test_unknown_and_frontier_urls_are_new() -> None:
    assert decide(None) == Fetching.NEW
    assert decide(known(fetched_at=None)) == Fetching.NEW


def test_a_known_page_without_a_newer_signal_is_skipped() -> None:
    assert decide(known()) == Fetching.SKIP
    assert decide(known(), "2025-03-09T10:00:00Z") == Fetching.SKIP  # older than our fetch
    assert decide(known(signal="2025-03-11T10:00:00Z"), "2025-03-11T10:00:00Z") == Fetching.SKIP  # seen already


def test_a_newer_lastmod_or_feed_date_signals_a_change() -> None:
    assert decide(known(), "2025-03-10T13:00:00Z") == Fetching.SIGNALLED
    assert decide(known(), "Mon, 10 Mar 2025 14:00:00 +0100") == Fetching.SIGNALLED  # RFC 822, 13:00 UTC


@pytest.mark.parametrize("lastmod", ["not a date", "2025-13-45", "", "yesterday"])
def test_a_malformed_lastmod_is_no_signal(lastmod: str) -> None:
    assert signal_time(lastmod) is None
    assert decide(known(), lastmod) == Fetching.SKIP


def test_a_date_only_lastmod_counts_as_the_end_of_that_day() -> None:
    assert signal_time("2025-03-10") == datetime(2025, 3, 10, 23, 59, 59, tzinfo=UTC).timestamp()
    assert decide(known(), "2025-03-10") == Fetching.SIGNALLED  # fetched at noon: the day's end is later
    assert decide(known(), "2025-03-09") == Fetching.SKIP


def test_a_future_lastmod_signals_once_per_value_not_every_run() -> None:
    future = "2031-01-01T00:00:00Z"
    assert decide(known(), future) == Fetching.SIGNALLED
    assert decide(known(signal=future), future) == Fetching.SKIP


def test_a_removed_article_listed_again_is_checked_once() -> None:
    gone = known(removed_at=FETCHED, signal=None)
    assert decide(gone, None, listed=True) == Fetching.SIGNALLED
    assert decide(gone, None, listed=False) == Fetching.SKIP  # a mere link is no sign it is back
    assert decide(known(removed_at=FETCHED, signal="listed"), None, listed=True) == Fetching.SKIP


# -- every run, due, dropped, removed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "every_run"),
    [
        (known(kind=UrlKind.FEED, article_id=None), True),
        (known(kind=UrlKind.ROBOTS, article_id=None), True),
        (known(kind=UrlKind.SITEMAP, found_by=FoundBy.ROBOTS, article_id=None), True),
        (known(kind=UrlKind.SITEMAP, found_by=FoundBy.SITEMAP, signal="2025-03-01", article_id=None), False),
        (known(kind=UrlKind.SITEMAP, found_by=FoundBy.SITEMAP, signal=None, article_id=None), True),
        (known(url="https://news.example/", found_by=FoundBy.START, article_id=None, outcome="rejected"), True),
        (known(url="https://news.example/sport/", hops=1, article_id=None, outcome="rejected"), True),
        (known(url="https://news.example/sport/page/2/", hops=1, article_id=None, outcome="rejected"), False),
        (known(url="https://news.example/tag/budget/", hops=1, article_id=None, outcome="rejected"), False),
        (known(url="https://news.example/sport/", hops=1, article_id=None, outcome="skipped"), False),
        (known(), False),  # an article
    ],
)
def test_discovery_documents_and_section_fronts_are_fetched_every_run(row: KnownUrl, every_run: bool) -> None:
    assert fetched_every_run(row) is every_run


def test_section_fronts() -> None:
    assert is_section_front("https://news.example/politics/")
    assert not is_section_front("https://news.example/politics/page/3/")
    assert not is_section_front("https://news.example/author/anna/")


def test_due_revisits_most_overdue_first_within_the_budget() -> None:
    rows = [known(url=f"https://news.example/{n}/", next_due_at=FETCHED + n * HOUR, article_id=n) for n in range(1, 8)]
    rows.append(known(url="https://news.example/never/", next_due_at=None))
    rows.append(known(url="https://news.example/frontier/", fetched_at=None, next_due_at=FETCHED))
    due = due_revisits(rows, now=FETCHED + 5 * HOUR, policy=replace(POLICY, budget=3))
    assert [row.url for row in due] == [f"https://news.example/{n}/" for n in (1, 2, 3)]
    assert due_revisits(rows, now=FETCHED + 5 * HOUR, policy=replace(POLICY, budget=0)) == []
    assert due_revisits(rows, now=FETCHED + 5 * HOUR, policy=replace(POLICY, intervals=())) == []


def test_articles_that_drop_out_of_their_sitemap_are_checked() -> None:
    listed = [known(url=f"https://news.example/{n}/", listed_in="s.xml") for n in range(3)]
    gone_already = known(url="https://news.example/9/", listed_in="s.xml", removed_at=FETCHED)
    dropped = dropped_from_sitemap([*listed, gone_already], {"https://news.example/0/", "https://news.example/2/"})
    assert [row.url for row in dropped] == ["https://news.example/1/"]


@pytest.mark.parametrize(
    ("status", "url", "final", "removed"),
    [
        (404, "https://news.example/a/", None, 404),
        (410, "https://news.example/a/", None, 410),
        (200, "https://news.example/a/", "https://news.example/", 200),
        (None, "https://news.example/a/", "https://news.example/", 301),
        (200, "https://news.example/a/", "https://news.example/b/", None),  # moved, not removed
        (500, "https://news.example/a/", None, None),
    ],
)
def test_removal_is_a_404_a_410_or_a_redirect_home(status: int | None, url: str, final: str | None, removed) -> None:
    assert removal_status(known(), status, url, final) == removed
    assert removal_status(known(article_id=None), status, url, final) is None  # only archived articles
    assert removal_status(None, status, url, final) is None


# -- the state after a fetch ------------------------------------------------------------------------


def facts(**fields: object) -> FetchFacts:
    base = FetchFacts(status=200, fetched_at="2025-03-11T12:00:00Z", outcome=FetchOutcome.UNCHANGED)
    return replace(base, **fields)


def visit(row: KnownUrl | None, fetching: Fetching = Fetching.DUE, **fields: object) -> Visit:
    return Visit(UrlKind.PAGE, fetching, row, **fields)


def test_an_unchanged_fetch_climbs_the_ladder_and_keeps_the_validators_of_a_304() -> None:
    row = known(unchanged_count=1)
    values = state_after_fetch(visit(row), facts(status=304, outcome=FetchOutcome.NOT_MODIFIED), POLICY, run_id=3)
    assert values["unchanged_count"] == 2
    assert values["next_due_at"] == "2025-03-12T12:00:00.000Z"  # the third interval: one day
    assert "etag" not in values and "body_hash" not in values  # a 304 keeps what we have
    assert values["fetch_run_id"] == 3


def test_a_change_starts_the_ladder_over_and_stores_the_new_validators() -> None:
    row = known(unchanged_count=3)
    values = state_after_fetch(
        visit(row),
        facts(outcome=FetchOutcome.UPDATED, changed=True, etag='"new"', body_hash="1" * 32, article_id=7),
        POLICY,
        run_id=3,
    )
    assert values["unchanged_count"] == 0
    assert values["content_changed_at"] == "2025-03-11T12:00:00Z"
    assert values["etag"] == '"new"' and values["body_hash"] == "1" * 32
    assert values["next_due_at"] == "2025-03-11T13:00:00.000Z"


def test_an_old_article_is_not_revisited_and_a_removal_is_recorded_once() -> None:
    old = known(published_at=FETCHED - 90 * DAY)
    assert state_after_fetch(visit(old), facts(), POLICY, run_id=3)["next_due_at"] is None
    removed = state_after_fetch(visit(known()), facts(status=404, outcome="error", removed_status=404), POLICY, 3)
    assert removed["removed_at"] == "2025-03-11T12:00:00Z"
    again = state_after_fetch(
        visit(known(removed_at=FETCHED)), facts(status=404, outcome="error", removed_status=404), POLICY, 3
    )
    assert again["removed_at"] == "2025-03-10T12:00:00.000Z"  # when it first went away


def test_a_new_url_keeps_how_it_was_found() -> None:
    values = state_after_fetch(
        visit(None, Fetching.NEW, found_by=FoundBy.SITEMAP, hops=0, listed_in="https://news.example/s.xml"),
        facts(outcome=FetchOutcome.NEW, changed=True, body_hash="2" * 32, article_id=9),
        POLICY,
        run_id=1,
    )
    assert values["found_by"] == FoundBy.SITEMAP and values["listed_in"] == "https://news.example/s.xml"
    assert values["unchanged_count"] == 0


def test_known_url_reads_a_stored_row() -> None:
    row = {
        "url": "https://news.example/a/",
        "kind": "page",
        "found_by": "feed",
        "hops": 2,
        "hints": '{"title": "A"}',
        "discovered_at": "2025-03-10T11:59:00Z",
        "fetched_at": "2025-03-10T12:00:00.000Z",
        "published_at": "2025-03-10T12:00:00+01:00",
        "unchanged_count": 4,
        "next_due_at": None,
        "removed_at": None,
    }
    parsed = known_url(row)
    assert parsed.fetched and parsed.hints == {"title": "A"} and parsed.unchanged_count == 4
    assert parsed.published_at == FETCHED - HOUR
    assert known_url({**row, "hints": "{broken"}).hints is None


def row_of(url: str, **fields: object) -> dict[str, object]:
    return {
        "url": url,
        "kind": "page",
        "fetched_at": "2025-03-10T12:00:00.000Z",
        "discovered_at": "2025-03-10T11:00:00.000Z",
        "article_id": 1,
        **fields,
    }


def test_known_urls_note_sitemaps_and_check_only_articles_no_sitemap_lists_any_more() -> None:
    state = KnownUrls(
        [
            row_of("https://news.example/a/", listed_in="https://news.example/s1.xml"),
            row_of("https://news.example/b/", listed_in="https://news.example/s1.xml"),
            row_of("https://news.example/c/", listed_in="https://news.example/s1.xml"),
            row_of("https://news.example/d/"),  # found by a link, never listed
            row_of("https://news.example/new/", fetched_at=None, article_id=None),
        ]
    )
    assert len(state) == 5 and [known.url for known in state.frontier()] == ["https://news.example/new/"]
    # s1 now lists a only; b moved to s2 (sitemaps paginate), c is gone; d is listed for the first time.
    assert state.note_sitemap("https://news.example/s1.xml", {"https://news.example/a/"}) == []
    moved = state.note_sitemap("https://news.example/s2.xml", {"https://news.example/b/", "https://news.example/d/"})
    assert moved == ["https://news.example/b/", "https://news.example/d/"]
    assert [known.url for known in state.take_dropped()] == ["https://news.example/c/"]
    assert state.take_dropped() == []  # once


@pytest.mark.parametrize(
    ("link_text", "signalled"),
    [
        ("Council rejects the harbour budget after all-night session", True),  # another headline
        ("Council approves harbour budget", False),  # the archived headline
        ("COUNCIL APPROVES HARBOUR BUDGET!", False),  # case and punctuation
        ("Council approves harbour budget after a long night", False),  # a longer teaser holding it
        ("Read more", False),  # too short to say anything
        ("", False),
    ],
)
def test_a_teaser_with_another_headline_signals_a_change(link_text: str, signalled: bool) -> None:
    row = known(title="Council approves harbour budget")
    expected = Fetching.SIGNALLED if signalled else Fetching.SKIP
    assert decide(row, link_signal(link_text)) == expected
    # Once fetched for it, the same teaser is no signal again; a page without a headline never is.
    assert decide(replace(row, signal=link_signal(link_text)), link_signal(link_text)) == Fetching.SKIP
    assert decide(known(title=None, article_id=None), link_signal(link_text)) == Fetching.SKIP


def test_copies_and_redirects_to_archived_pages_are_not_revisited() -> None:
    values = state_after_fetch(
        visit(None, Fetching.NEW), facts(outcome=FetchOutcome.DUPLICATE, status=None), POLICY, run_id=1
    )
    assert values["next_due_at"] is None
