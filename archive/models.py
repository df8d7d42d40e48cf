"""Value types and vocabularies shared by the archive modules.

`SaveResult` is what `Archive.save_article` returns; `ArchiveError` is the one exception the
archive raises for problems a user can fix (bad file, bad argument), with the fix apart from the
problem. The vocabularies of what the archive stores (run status and trigger, fetch outcome, how a
URL was found, how a page was fetched, why a fetch gave no article, what kind of change made a new
version) are `StrEnum`s here, so the store, the crawler and the docs compare and write the same
values; each member *is* its stored string, so rows and output read exactly as before. No settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class ArchiveError(Exception):
    """A problem with the archive file or with how the archive was called.

    ``problem`` says what failed, ``fix`` (when there is one) what to do about it, ``path`` (when
    the file itself is the problem) which file; ``str()`` renders problem and fix as one message
    ("… Fix: …") for a log line or the command line.
    """

    def __init__(self, problem: str, fix: str | None = None, *, path: Path | None = None) -> None:
        self.problem = problem
        self.fix = fix
        self.path = path
        super().__init__(f"{problem} Fix: {fix}" if fix else problem)


class RunStatus(StrEnum):
    """`crawl_runs.status`. RUNNING is set by start_run; the others are final states."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"  # killed at its max_runtime (scheduler)
    SKIPPED = "skipped"  # not started: the previous run of the source was still going (scheduler)
    ABANDONED = "abandoned"  # found "running" with its process gone (crawler.run.liveness)
    INTERRUPTED = "interrupted"  # stopped by a shutdown of newsarchive itself, not the source's fault


class RunTrigger(StrEnum):
    """`crawl_runs.trigger`: what started the run."""

    SCHEDULE = "schedule"
    MANUAL = "manual"
    CATCH_UP = "catch-up"
    REEXTRACT = "reextract"  # newsarchive reextract: stored responses extracted again, nothing fetched


class FetchOutcome(StrEnum):
    """`fetches.outcome`. The first four come from `save_article`, the rest from `record_fetch`."""

    NEW = "new"
    UNCHANGED = "unchanged"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    ERROR = "error"
    DISCOVERY = "discovery"
    NOT_MODIFIED = "not_modified"  # a 304 to a conditional request, or a body byte-identical to the last fetch


class UrlKind(StrEnum):
    """`crawl_state.kind`: what a URL is to the crawler, which decides how it is parsed and revisited."""

    PAGE = "page"  # an article or a listing page
    SITEMAP = "sitemap"
    FEED = "feed"
    ROBOTS = "robots"


class FoundBy(StrEnum):
    """`fetches.found_by`: how the crawler came to the URL."""

    START = "start"
    LINK = "link"
    FEED = "feed"
    SITEMAP = "sitemap"
    ROBOTS = "robots"
    REDIRECT = "redirect"
    CANONICAL = "canonical"


class FetchMode(StrEnum):
    """`fetches.fetch_mode` and `articles.fetch_mode`: plain HTTP or rendered in a browser."""

    PLAIN = "plain"
    BROWSER = "browser"


class AliasReason(StrEnum):
    """`url_aliases.reason`: why another URL leads to an article."""

    REQUESTED = "requested"
    FINAL_URL = "final_url"
    REDIRECT = "redirect"
    CANONICAL = "canonical"
    DUPLICATE = "duplicate"
    SHORTLINK = "shortlink"  # the page's <link rel="shortlink"> (WordPress /?p=123, wp.me …)
    TRACKING = "tracking"  # the article's URL with tracking or session parameters, as it was linked


class ReasonKind(StrEnum):
    """`fetches.reason_kind`: the machine-readable kind of `fetches.reason` (which stays the words for people).

    Set for rejected, skipped and error fetches (and a robots.txt that answered with an HTTP error);
    NULL for articles and for discovery rows (feeds, sitemaps, robots.txt) that went well.
    """

    # Rejected: the page is not an article (crawler.extraction.classify).
    NO_TEXT = "no_text"  # nothing to extract, or less than EXTRACT_MIN_TEXT_CHARS of text
    JAVASCRIPT_SHELL = "javascript_shell"  # an empty app root: the text comes from scripts
    PLACEHOLDER = "placeholder"  # "Loading…", "please enable JavaScript"
    EXTRACTION_FAILED = "extraction_failed"  # the extractor failed on the page
    OUTSIDE_ARTICLE_PATTERNS = "outside_article_patterns"  # the source lists article URL patterns; none matched
    LISTING = "listing"  # a section front or index listing several articles
    NOT_ARTICLE_TYPE = "not_article_type"  # its markup says another page type (JSON-LD, og:type)
    NOT_ARTICLE_URL = "not_article_url"  # its URL is a home, tag, author, search… page
    TOO_LITTLE_TEXT = "too_little_text"  # some text, but too little for a page without article markup
    TOO_FEW_PARAGRAPHS = "too_few_paragraphs"
    MOSTLY_LINKS = "mostly_links"
    NO_TITLE = "no_title"
    ALTERNATE_COPY = "alternate_copy"  # an AMP or other copy whose canonical page is archived instead
    # Skipped.
    NOT_HTML = "not_html"
    # Errors (and a robots.txt HTTP status).
    HTTP_STATUS = "http_status"
    TOO_LARGE = "too_large"  # over DOWNLOAD_MAXSIZE
    TIMEOUT = "timeout"
    DNS_LOOKUP = "dns_lookup"
    CONNECTION_FAILED = "connection_failed"  # refused, reset, or the response broke off
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_LOOP = "redirect_loop"
    # Refused by the network boundary (crawler.network.boundary): never fetched.
    OFF_SITE = "off_site"  # another host or port than the source's, or not http(s)
    PRIVATE_ADDRESS = "private_address"  # a loopback, private, link-local, CGNAT or multicast address
    ARCHIVE_WRITE_FAILED = "archive_write_failed"  # fetched, but the archive could not take it (locked, full, damaged)
    REDIRECTED_HOME = "redirected_home"  # an archived article now redirects to the home page: removed
    DROPPED = "dropped"  # a Scrapy component dropped the request
    UNREADABLE_FEED = "unreadable_feed"
    UNREADABLE_SITEMAP = "unreadable_sitemap"
    DOWNLOAD_FAILED = "download_failed"  # any other download failure


class ChangeKind(StrEnum):
    """`article_versions.change_kinds`: what kind of change replaced a version (archive/changes.py decides).

    A version is made only when one of the tracked extracted fields changes after normalisation
    (whitespace, markup and tracking parameters in links do not count); each kind names a field,
    except CORRECTION, which comes with BODY when the new text adds a correction or update note,
    REAPPEARED, the version made when an article marked removed (404, 410, a redirect home) is back, and
    REEXTRACTED, which comes with the fields' kinds when the version was made by extracting the stored
    response again with newer extraction rules (`newsarchive reextract`), not by the publisher.
    """

    HEADLINE = "headline"  # title
    BYLINE = "byline"  # authors
    BODY = "body"  # text
    DATES = "dates"  # published_at or modified_at (compared as the same moment in UTC)
    DESCRIPTION = "description"
    CORRECTION = "correction"  # the new text adds a paragraph such as "Correction: …", "Update: …"
    REAPPEARED = "reappeared"  # the article had been removed (removed_at) and is online again
    REEXTRACTED = "reextracted"  # (with the fields' kinds) made by `newsarchive reextract`, not by the publisher


# The kinds of rejection that mean "no extractable text": counted in crawl_runs.extraction_failures.
NO_TEXT_KINDS: tuple[ReasonKind, ...] = (
    ReasonKind.NO_TEXT,
    ReasonKind.JAVASCRIPT_SHELL,
    ReasonKind.PLACEHOLDER,
    ReasonKind.EXTRACTION_FAILED,
)


@dataclass(frozen=True)
class SaveResult:
    """Outcome of saving one article: new, unchanged, updated or duplicate."""

    outcome: FetchOutcome
    article_id: int
    duplicate_of: int | None = None


ARTICLE_OUTCOMES: tuple[FetchOutcome, ...] = (
    FetchOutcome.NEW,
    FetchOutcome.UNCHANGED,
    FetchOutcome.UPDATED,
    FetchOutcome.DUPLICATE,
)
# Outcomes of fetches that produced no article (written by `Archive.record_fetch`).
NON_ARTICLE_OUTCOMES: tuple[FetchOutcome, ...] = tuple(o for o in FetchOutcome if o not in ARTICLE_OUTCOMES)
FINAL_RUN_STATUSES: tuple[RunStatus, ...] = tuple(s for s in RunStatus if s is not RunStatus.RUNNING)

# The crawl_runs counts a one-line run summary shows (the run log's last line, `newsarchive runs`).
RUN_SUMMARY_COUNTS: tuple[str, ...] = (
    "pages_fetched",
    "articles_new",
    "articles_unchanged",
    "not_modified",
    "articles_duplicate",
    "articles_rejected",
    "errors",
)
