"""Items the news spider yields and the pipelines consume.

A :class:`PageItem` is an HTML page that may be an article: the extraction pipeline fills
``fields`` and ``verdict``, the archive pipeline stores it. A :class:`FetchItem` is any other
fetch (robots.txt, feed, sitemap, non-HTML, HTTP error) that is only recorded in ``fetches``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archive.dates import utc_now_iso  # the archive's own timestamp format, for every row
from archive.models import FetchMode, FetchOutcome, FoundBy, ReasonKind


@dataclass
class Fetch:
    """What we know of one HTTP fetch; the keys the archive's ``fetches`` table expects."""

    url: str
    final_url: str | None = None
    status: int | None = None
    content_type: str | None = None
    bytes: int = 0
    fetched_at: str = field(default_factory=utc_now_iso)
    elapsed_ms: float | None = None
    found_by: str = FoundBy.LINK
    depth: int = 0
    referer: str | None = None
    fetch_mode: str = FetchMode.PLAIN

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PageItem:
    """An HTML page that may be an article."""

    source: str
    fetch: Fetch
    body: bytes
    redirect_urls: list[str] = field(default_factory=list)
    hints: dict[str, Any] = field(default_factory=dict)  # from feeds / news sitemaps
    fetch_mode: str = FetchMode.PLAIN
    fields: dict[str, Any] | None = None  # set by ExtractPipeline
    is_article: bool | None = None  # set by ExtractPipeline
    reason: str | None = None  # why it is (not) an article
    reason_kind: ReasonKind | None = None  # the kind of a rejection (crawler.extraction.classify)


@dataclass
class FetchItem:
    """A fetch that is not an article candidate; recorded with its outcome."""

    source: str
    fetch: Fetch
    outcome: FetchOutcome  # discovery | skipped | error
    reason: str | None = None
    reason_kind: ReasonKind | None = None
