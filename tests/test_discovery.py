"""Link-following rules and retry backoff, as plain functions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from crawler.discovery.links import PatternBudget, is_pagination, looks_like_article_url, next_hops
from crawler.middlewares.backoff_retry import backoff_delay, retry_after_seconds


def test_pagination_does_not_count_as_a_hop() -> None:
    assert is_pagination("https://n.example/section/world/page/7/")
    assert is_pagination("https://n.example/news?page=3")
    assert not is_pagination("https://n.example/2024/05/01/page-one-of-the-budget/")
    assert next_hops(2, "https://n.example/section/world/page/8/") == 2
    assert next_hops(2, "https://n.example/calendar/2024/06/") == 3


def test_endless_calendar_and_query_variations_are_bounded() -> None:
    budget = PatternBudget(5)
    months = [f"https://n.example/calendar/{2000 + i // 12}/{i % 12 + 1:02d}/" for i in range(100)]
    assert sum(budget.allow(url) for url in months) == 5
    sorts = [f"https://n.example/search?q=harbour&sort={i}&page={i}" for i in range(100)]
    assert sum(budget.allow(url) for url in sorts) == 5
    # Articles each have their own pattern, so the budget never starves a site of its articles.
    articles = [f"https://n.example/2024/05/01/story-number-{i}/" for i in range(100)]
    assert all(budget.allow(url) for url in articles)
    assert len(budget.exhausted()) == 2


def test_pattern_budget_counts_pages_not_links() -> None:
    budget = PatternBudget(3)
    stories = [f"https://n.example/story/{i}/" for i in range(1, 4)]
    for _ in range(10):  # the same three stories linked from ten pages cost three pages
        assert all(budget.allow(url) for url in stories)
    assert budget.counts["n.example/story/{n}/"] == 3
    assert not budget.allow("https://n.example/story/4/")
    budget.note("https://n.example/story/5/")  # requested from a sitemap: free, and links to it too
    assert budget.allow("https://n.example/story/5/")
    assert budget.counts["n.example/story/{n}/"] == 3


def test_article_url_guess_orders_requests() -> None:
    assert looks_like_article_url("https://n.example/2024/05/01/council-approves-tram-line/")
    assert looks_like_article_url("https://n.example/politics/council-approves-the-new-tram-line")
    assert not looks_like_article_url("https://n.example/tag/transport/")
    assert not looks_like_article_url("https://n.example/")
    pattern = (re.compile(r"/story/\d+$"),)
    assert looks_like_article_url("https://n.example/story/123", pattern)
    assert not looks_like_article_url("https://n.example/2024/05/01/x-y-z-w/", pattern)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, None, base=1.0, cap=60.0) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_delay(0, 30.0, base=1.0, cap=60.0) == 30.0
    assert backoff_delay(0, 3600.0, base=1.0, cap=60.0) == 60.0
