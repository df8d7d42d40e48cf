"""What extraction gives, without the extraction: the empty fields dict, the default drop selectors,
and the article row a crawl (pipelines/archive.py) or a re-extraction (crawler/reprocess) makes of it.

A light module (no lxml, no trafilatura) so that the crawl process, which only sends pages to the
extraction workers (crawler.extraction.pool), never imports the extractor: ~40 MB less in it.
:func:`crawler.extraction.extract.extract_page` fills the dict :func:`empty_fields` returns. No settings
(``EXTRACT_DROP_SELECTORS`` extends ``DEFAULT_DROP_SELECTORS``; see crawler.settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The fields an article row takes from the extraction.
ARTICLE_FIELDS = (
    "title",
    "authors",
    "published_at",
    "modified_at",
    "language",
    "language_declared",
    "language_detected",
    "description",
    "site_name",
    "categories",
    "tags",
    "image",
    "syndicated_from",
    "text",
)
# Article fields a feed or news-sitemap hint fills when extraction found nothing.
HINTED_FIELDS = ("title", "published_at", "language", "authors", "tags", "site_name")


def article_record(
    fields: Mapping[str, Any], hints: Mapping[str, Any], *, url: str, source: str, fetch_mode: str
) -> dict[str, Any]:
    """The article row: extracted fields first, feed/sitemap hints where extraction found nothing."""
    record: dict[str, Any] = {name: fields.get(name) for name in ARTICLE_FIELDS}
    for name in HINTED_FIELDS:
        if not record.get(name) and hints.get(name):
            record[name] = hints[name]
    record.update(url=url, source=source, fetch_mode=fetch_mode, hints=dict(hints) or None)
    return record


# CSS selectors of boilerplate dropped before trafilatura runs (crawler.extraction.text.drop_elements).
DEFAULT_DROP_SELECTORS: tuple[str, ...] = (
    # WordPress core comment area and form
    "#comments",
    "#respond",
    ".comment-respond",
    ".comments-area",
    "#commentform",
    ".comment-form",
    ".comment-list",
    ".commentlist",
    "#reply-title",
    # Jetpack / WordPress.com share buttons, likes, related posts, subscriptions
    ".sharedaddy",
    ".sd-sharing-enabled",
    "#jp-post-flair",
    ".jp-relatedposts",
    "#jp-relatedposts",
    ".wpl-likebox",
    ".jetpack_subscription_widget",
    "#disqus_thread",
    # cookie / consent banners
    "#cookie-notice",
    "#cookie-law-info-bar",
    ".cookie-banner",
    ".cookie-notice",
    ".cookie-consent",
    "#onetrust-consent-sdk",
    "#CybotCookiebotDialog",
    ".cc-window",
    "[aria-label='cookieconsent']",
    # newsletter sign-up boxes and "related / read more" link lists
    ".newsletter-signup",
    ".newsletter-box",
    ".related-articles",
    ".related-posts",
)


def empty_fields() -> dict[str, Any]:
    """The dict :func:`extract_page` returns, with every field empty."""
    return {
        "title": None,
        "authors": [],
        "published_at": None,
        "modified_at": None,
        "language": None,
        "language_declared": None,
        "language_detected": None,
        "description": None,
        "site_name": None,
        "categories": [],
        "tags": [],
        "image": None,
        "canonical_url": None,
        "amp_url": None,
        "syndicated_from": None,
        "is_amp": False,
        "text": "",
        "word_count": 0,
        "signals": {
            "og_type": None,
            "jsonld_types": [],
            "jsonld_main_articles": 0,
            "link_density": 0.0,
            "article_elements": 0,
            "paragraphs": 0,
            "text_chars": 0,
            "app_shell": False,
            "placeholder": False,
            "noindex": False,
        },
    }


def failed_fields(error: str) -> dict[str, Any]:
    """Empty fields plus an ``error`` message; what a page that could not be extracted yields."""
    fields = empty_fields()
    fields["error"] = error
    return fields
