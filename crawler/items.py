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
from crawler.discovery.recrawl import Visit


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
    # The answer's validators and the raw body's hash, for the next run's conditional request (crawl_state).
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    # The WARC record the body came from (crawler.middlewares.warc_records: request.meta["warc"]), relative
    # to the WARC folder; None when WARC writing is off or nothing was received.
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PageItem:
    """An HTML page that may be an article."""

    source: str
    fetch: Fetch
    body: bytes = field(repr=False)  # never in a log line or an error message
    redirect_urls: list[str] = field(default_factory=list)
    hints: dict[str, Any] = field(default_factory=dict)  # from feeds / news sitemaps
    fetch_mode: str = FetchMode.PLAIN
    fields: dict[str, Any] | None = None  # set by ExtractPipeline
    is_article: bool | None = None  # set by ExtractPipeline
    reason: str | None = None  # why it is (not) an article
    reason_kind: ReasonKind | None = None  # the kind of a rejection (crawler.extraction.classify)
    # Every signal the verdict weighed: [{"signal", "weight", "detail"}], stored in fetches.evidence.
    evidence: list[dict[str, Any]] | None = None
    visit: Visit | None = None  # why it was fetched and what the crawl state knew of it
    # Other URLs of the page: its <link rel=shortlink>, the tracking-parameter variants it was linked under.
    aliases: dict[str, str] = field(default_factory=dict)  # url -> archive.models.AliasReason
    signature: bytes | None = None  # the text's MinHash (archive.dedup.text_signature), set by SignaturePipeline
    # archive.dedup.content_hash of the text `signature` was computed from, where that may not be the
    # text stored (a distributed worker signs the text as it expects the writer to clean it).
    signed_text_hash: str | None = None


@dataclass
class FetchItem:
    """A fetch that is not an article candidate; recorded with its outcome."""

    source: str
    fetch: Fetch
    outcome: FetchOutcome  # discovery | skipped | error | not_modified | unchanged (same body, known article)
    reason: str | None = None
    reason_kind: ReasonKind | None = None
    visit: Visit | None = None
    removed_status: int | None = None  # an archived article answered 404/410 or redirected home


@dataclass
class ListedItem:
    """Known URLs a sitemap lists: recorded as listed there (crawl_state.listed_in), so that their
    dropping out of it later is noticed. Only for URLs whose state has no sitemap yet."""

    source: str
    sitemap_url: str
    urls: list[str]


@dataclass
class PageNotesItem:
    """Hints (a news sitemap's or a feed's) and aliases (tracking variants) for a page parsed earlier in
    this run, found after it was parsed (crawler.discovery.notes): the archive adds them to its article."""

    source: str
    url: str  # the canonical URL the page was requested under
    hints: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # url -> archive.models.AliasReason


@dataclass
class NotFetchedItem:
    """A URL the crawl will not fetch (robots.txt forbids it): only its crawl state is updated, so that
    it leaves the frontier and waits for its revisit instead of being tried again every run."""

    source: str
    url: str
    visit: Visit
    reason: str


@dataclass
class RedirectedToKnownItem:
    """A redirect chain that ended on a URL this crawl has already requested (the duplicate filter
    dropped the last hop): its URLs become aliases of that page's article, or it is a redirect loop,
    or an archived article now redirecting home. Made from the dropped request
    (:meth:`from_request`) where the archive pipeline runs, or in a distributed worker, which sends it
    to the writer."""

    source: str
    url: str  # where the chain ended
    chain: list[str]  # the URLs that redirected, first requested first
    visit: Visit | None
    found_by: str = FoundBy.LINK
    depth: int = 0
    referer: str | None = None
    redirect_reasons: list[Any] = field(default_factory=list)

    @classmethod
    def from_request(cls, source: str, request: Any) -> RedirectedToKnownItem | None:
        """The item of a dropped request (None: it was not the end of a redirect chain)."""
        chain = list(request.meta.get("redirect_urls") or [])
        if not chain:
            return None
        return cls(
            source=source,
            url=request.url,
            chain=chain,
            visit=request.meta.get("visit"),
            found_by=request.meta.get("found_by", FoundBy.LINK),
            depth=request.meta.get("hops", 0),
            referer=request.meta.get("referer_url"),
            redirect_reasons=list(request.meta.get("redirect_reasons") or []),
        )


MAX_DESCRIPTION_CHARS = 500


def describe_item(item: Any) -> str:
    """One short line naming an item: ``PageItem example (https://…, HTTP 200, 25,431 bytes)``."""
    kind = type(item).__name__
    source = getattr(item, "source", None)
    fetch = getattr(item, "fetch", None)
    if fetch is not None:
        details = [str(fetch.final_url or fetch.url)]
        if fetch.status is not None:
            details.append(f"HTTP {fetch.status}")
        if fetch.bytes:
            details.append(f"{fetch.bytes:,} bytes")
    elif getattr(item, "sitemap_url", None) is not None:
        details = [str(item.sitemap_url), f"{len(item.urls):,} URLs"]
    elif getattr(item, "url", None) is not None:
        details = [str(item.url)]
    else:
        details = [repr(item)]
    described = f"{kind} {source} ({', '.join(details)})" if source else f"{kind} ({', '.join(details)})"
    if len(described) > MAX_DESCRIPTION_CHARS:
        described = described[: MAX_DESCRIPTION_CHARS - 1] + "…"
    return described
