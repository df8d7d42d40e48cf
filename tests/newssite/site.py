"""``NewsSite``: the fixture news site's public face for tests, plus ``serve_site`` to run it.

``NewsSite(n_articles, seed)`` builds the model (no I/O, no rendering); pages are rendered on first
request and cached (with a placeholder for the base URL), so a crawl of thousands of pages stays
fast. The answers a correct crawl must reach (``expected_articles``, ``alias_urls``, ...) come from
the same model the pages are printed from. One-time failures (503 on ``/flaky/``, 429 on
``/busy/...``) are remembered per ``serve_site`` call, so every test starts with a fresh server.

``advance()`` moves the site to its next epoch (see ``tests/newssite/epochs.py``) while it is
served. Every 200 answer carries a strong ``ETag`` (from the body sent) and ``Last-Modified``;
conditional requests get 304 (``If-None-Match`` first, as RFC 9110 says, else
``If-Modified-Since``). ``Misbehaviour`` switches on the broken servers of the issue's bad-input
list. ``serve_site`` records every request in a ``RequestLog``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

from crawler.demo.server import Hit, LocalSite, Reply, Request, serve
from tests.newssite import feeds, pages
from tests.newssite import model as m
from tests.newssite.epochs import EditKind, EpochChanges, Removal, RemovalKind, advance_model
from tests.newssite.feeds import FUTURE_TIME, LastmodStyle
from tests.newssite.model import Article, SiteModel

RETRY_AFTER_SECONDS = "1"
# Pages are rendered once with this stand-in for the base URL and cached; each answer swaps in the
# real one, so servers on different ports share one cache.
BASE_PLACEHOLDER = "http://newssite-base.invalid"
# Endless path spaces (a crawler stuck in the calendar) must not grow the cache without bound.
UNCACHED_PREFIXES = ("/calendar/", "/img/")


@dataclass(frozen=True)
class ExpectedArticle:
    """What a correct crawl archives for one article, exactly once."""

    url: str
    title: str
    authors: list[str]
    published_at: str
    modified_at: str | None
    language: str
    section: str
    tags: list[str]
    paragraphs: list[str]
    template: str
    encoding: str


class FirstTimeFailures:
    """Remembers which one-time failures a server has already answered."""

    def __init__(self) -> None:
        self._answered: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, key: str) -> bool:
        """True exactly once per key: the request that should get the failure."""
        with self._lock:
            if key in self._answered:
                return False
            self._answered.add(key)
            return True

    def pending(self, key: str) -> bool:
        with self._lock:
            return key not in self._answered


@dataclass(frozen=True)
class _Page:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def reply(self, base: str) -> Reply:
        placeholder = BASE_PLACEHOLDER.encode("ascii")
        return Reply(
            self.status,
            self.body.replace(placeholder, base.encode("ascii")),
            {name: value.replace(BASE_PLACEHOLDER, base) for name, value in self.headers},
        )


def _html(text: str, encoding: str = "utf-8", status: int = 200) -> _Page:
    if encoding == "windows-1252":
        # Legacy CMS: the charset is only in <meta>; the server sends a bare text/html.
        return _Page(status, text.encode("cp1252", "xmlcharrefreplace"), (("Content-Type", "text/html"),))
    if encoding == "utf-8-undeclared":
        return _Page(status, text.encode("utf-8"), (("Content-Type", "text/html"),))
    return _Page(status, text.encode("utf-8"), (("Content-Type", "text/html; charset=utf-8"),))


def _file(body: bytes | str, content_type: str, *extra: tuple[str, str]) -> _Page:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return _Page(200, data, (("Content-Type", content_type), *extra))


def _redirect(status: int, location: str) -> _Page:
    return _Page(status, b"", (("Location", location), ("Content-Type", "text/html; charset=utf-8")))


@dataclass(frozen=True)
class Misbehaviour:
    """Broken-server switches for bad-input tests; all off by default.

    ``wrong_etag``: a new ETag on every answer (If-None-Match never matches). ``future_last_modified``:
    every Last-Modified is ``FUTURE_TIME`` (and If-Modified-Since is judged against it).
    ``unconditional_304``: these paths answer 304 even to a request without validators.
    ``sitemap_lastmod``: how article sitemaps and the sitemap index print ``<lastmod>``.
    """

    wrong_etag: bool = False
    future_last_modified: bool = False
    unconditional_304: frozenset[str] = frozenset()
    sitemap_lastmod: LastmodStyle = LastmodStyle.ISO


@dataclass(frozen=True)
class RequestRecord:
    """One answered request as the fixture saw it: what was asked, what was sent back."""

    method: str
    path: str  # path plus query string, as sent
    status: int
    if_none_match: str | None
    if_modified_since: str | None
    bytes_sent: int  # body bytes (0 for HEAD and 304)
    epoch: int

    @property
    def conditional(self) -> bool:
        return self.if_none_match is not None or self.if_modified_since is not None


@dataclass(frozen=True)
class RequestCounts:
    requests: int
    conditional: int
    not_modified: int
    bytes_sent: int
    statuses: dict[int, int]


@dataclass
class RequestLog:
    """Every request one ``serve_site`` answered; ``mark()`` / ``counts(since=...)`` slice per run."""

    records: list[RequestRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self.records.append(entry)

    def mark(self) -> int:
        """A position to count from later (for example, before the second run)."""
        with self._lock:
            return len(self.records)

    def since(self, mark: int = 0) -> list[RequestRecord]:
        with self._lock:
            return list(self.records[mark:])

    def counts(self, since: int = 0) -> RequestCounts:
        entries = self.since(since)
        return RequestCounts(
            requests=len(entries),
            conditional=sum(e.conditional for e in entries),
            not_modified=sum(e.status == 304 for e in entries),
            bytes_sent=sum(e.bytes_sent for e in entries),
            statuses=dict(Counter(e.status for e in entries)),
        )


class ServedSite:
    """A running fixture server: ``base_url``, ``hits`` and ``paths()`` as ``LocalSite``, plus ``log``."""

    def __init__(self, local: LocalSite, site: NewsSite, log: RequestLog) -> None:
        self.local = local
        self.site = site
        self.log = log

    @property
    def base_url(self) -> str:
        return self.local.base_url

    @property
    def hits(self) -> list[Hit]:
        return self.local.hits

    def paths(self) -> list[str]:
        return self.local.paths()


@dataclass(frozen=True)
class _Resource:
    page: _Page
    last_modified: datetime | None = None  # None: no validators (errors, redirects)
    volatile: bool = False


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _parse_http_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2), which is what If-None-Match uses."""
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag.removeprefix("W/") for t in tags)


def _with_markup_revision(text: str, markup_edits: int) -> str:
    """Whitespace and a comment only: the same text, the same fields, other bytes."""
    if not markup_edits:
        return text
    text = text.replace("</h1>", "</h1>" + "\n" * markup_edits, 1)
    return text.replace("</body>", f"<!-- layout revision {markup_edits} -->\n</body>", 1)


class NewsSite:
    """A generated news site; see the package docstring for what it contains."""

    def __init__(
        self,
        n_articles: int = 60,
        seed: int = 1,
        epoch: int = 0,
        misbehaviour: Misbehaviour | None = None,
        js_share: float = 0.0,
    ) -> None:
        self.n_articles = n_articles
        self.seed = seed
        self.js_share = js_share
        self.misbehaviour = misbehaviour or Misbehaviour()
        self.models: list[SiteModel] = [m.build_model(n_articles, seed, js_share)]
        self.history: list[EpochChanges] = []
        self._lock = threading.Lock()
        self._paragraphs: dict[tuple[int, int], list[str]] = {}
        self._article_pages: dict[tuple[str, str, int], _Page] = {}
        self._pages: dict[tuple[int, str, LastmodStyle], _Page | None] = {}
        self._since: dict[tuple[int, str], datetime] = {}
        self._default_failures = FirstTimeFailures()
        model0 = self.models[0]
        self._private_by_path = {a.path: a for a in model0.private_articles}
        self._wire_by_path = {c.path: c for c in model0.wire_copies}
        self._serial = itertools.count()
        for _ in range(epoch):
            self.advance()

    # --- Epochs ----------------------------------------------------------------------------

    @property
    def model(self) -> SiteModel:
        """The model of the epoch served now."""
        return self.models[-1]

    @property
    def epoch(self) -> int:
        return self.model.epoch

    def advance(self, at: datetime | None = None) -> EpochChanges:
        """Move to the next epoch (served from ``at``, default one week later); returns what changed.

        Pass ``at=datetime.now(timezone.utc)`` when a crawler compares sitemap ``<lastmod>`` with its
        own clock: the default times stay in the site's 2024.
        """
        with self._lock:
            model, changes = advance_model(self.model, at)
            self.models.append(model)
            self.history.append(changes)
        return changes

    def changes(self, epoch: int) -> EpochChanges:
        """What changed from ``epoch - 1`` to ``epoch`` (epoch >= 1)."""
        if not 1 <= epoch <= len(self.history):
            raise ValueError(f"no changes recorded for epoch {epoch}; the site has epochs 1..{len(self.history)}")
        return self.history[epoch - 1]

    def removed_urls(self, base: str) -> dict[str, Removal]:
        """Articles taken down in any epoch so far, by URL, with how they answer now."""
        return {base + path: removal for path, removal in self.model.removed.items()}

    # --- What a correct crawl must find ------------------------------------------------------

    def paragraphs(self, article: Article) -> list[str]:
        key = (article.article_id, article.revision)
        cached = self._paragraphs.get(key)
        if cached is None:
            cached = self._paragraphs[key] = m.article_paragraphs(article)
        return cached

    def expected_articles(self, base: str) -> list[ExpectedArticle]:
        return [
            ExpectedArticle(
                url=base + a.path,
                title=a.title,
                authors=[w.name for w in a.authors],
                published_at=a.published.isoformat(),
                modified_at=a.modified.isoformat() if a.modified else None,
                language=a.language,
                section=a.section[1],
                tags=[t.name for t in a.tags],
                paragraphs=list(self.paragraphs(a)),
                template=a.template,
                encoding=a.encoding,
            )
            for a in self.model.articles
        ]

    def js_article_urls(self, base: str) -> list[str]:
        """The articles served JavaScript-only (``js_share``): no text in their HTML until a browser
        runs the page's script. They are in ``expected_articles`` all the same."""
        return [base + a.path for a in self.model.articles if a.js_only]

    def non_article_urls(self, base: str) -> list[str]:
        site = self.model
        paths = ["/"]
        for slug, _ in m.SECTIONS:
            paths += [m.section_page_path(slug, n) for n in range(1, len(m.section_pages(site, slug)) + 1)]
        paths.append("/section/wire/")
        paths += [f"/tag/{t.slug}/" for t in site.tags if m.tag_articles(site, t.slug)]
        paths += [f"/author/{a.slug}/" for a in site.authors if m.author_articles(site, a.slug)]
        paths += ["/about/", "/contact/", "/login/", pages.calendar_path(*site.calendar_month)]
        paths += [f"/live/{slug}/" for slug, _ in m.LIVE_PAGES]
        return [base + path for path in paths]

    def alias_urls(self, base: str) -> dict[str, str]:
        chrome = {model.epoch: model for model in self.models}
        return {base + alias: base + path for alias, path in m.alias_paths(self.model, chrome).items()}

    def disallowed_prefixes(self) -> list[str]:
        return list(m.DISALLOWED_PREFIXES)

    # --- Serving ---------------------------------------------------------------------------

    def app(self, request: Request, failures: FirstTimeFailures | None = None, log: RequestLog | None = None) -> Reply:
        """Answer one request; ``failures`` is the per-server memory of one-time errors, ``log`` its counters."""
        model = self.model  # one epoch for the whole answer, even if advance() runs meanwhile
        memory = failures or self._default_failures
        parts = urlsplit(request.path)
        path = parts.path or "/"
        resource: _Resource | None
        if path == "/" and "p" in parse_qs(parts.query):
            page = self._shortlink(model, parse_qs(parts.query)["p"][0])
            resource = _Resource(page) if page else None
        else:
            failure = self._one_time_failure(model, path, request.method, memory)
            resource = _Resource(failure) if failure else self._resource(model, path)
        if resource is None:
            resource = _Resource(_html(pages.not_found_page(model, BASE_PLACEHOLDER, path), status=404))
        reply = resource.page.reply(request.base_url)
        if resource.volatile:
            reply.body = self._with_nonce(reply.body)
        if reply.status == 200 and resource.last_modified is not None:
            reply = self._validated(request, path, reply, resource.last_modified)
        if log is not None:
            log.record(
                RequestRecord(
                    request.method,
                    request.path,
                    reply.status,
                    request.headers.get("if-none-match"),
                    request.headers.get("if-modified-since"),
                    0 if request.method == "HEAD" else len(reply.body),
                    model.epoch,
                )
            )
        return reply

    def _validated(self, request: Request, path: str, reply: Reply, last_modified: datetime) -> Reply:
        bad = self.misbehaviour
        digest = hashlib.sha256(reply.body)
        if bad.wrong_etag:
            digest.update(str(next(self._serial)).encode("ascii"))
        etag = f'"{digest.hexdigest()[:32]}"'
        modified = FUTURE_TIME if bad.future_last_modified else last_modified
        reply.headers["ETag"] = etag
        reply.headers["Last-Modified"] = _http_date(modified)
        if_none_match = request.headers.get("if-none-match")
        if_modified_since = request.headers.get("if-modified-since")
        if if_none_match is not None:
            fresh = _etag_matches(if_none_match, etag)
        elif if_modified_since is not None:
            since = _parse_http_date(if_modified_since)
            fresh = since is not None and modified.replace(microsecond=0) <= since
        else:
            fresh = path in bad.unconditional_304
        if fresh and request.method in ("GET", "HEAD"):
            return Reply(304, b"", {name: value for name, value in reply.headers.items() if name != "Content-Type"})
        return reply

    def _with_nonce(self, body: bytes) -> bytes:
        serial = next(self._serial)
        nonce = hashlib.sha256(f"{self.seed}:{serial}".encode("ascii")).hexdigest()[:16]
        served = datetime.now(UTC).isoformat(timespec="microseconds")
        body = body.replace(b"</head>", f'<meta name="request-id" content="{nonce}">\n</head>'.encode("ascii"), 1)
        return body.replace(
            b"</body>", f"<!-- served {served} in 0.{serial % 1000:03d}s -->\n</body>".encode("ascii"), 1
        )

    def _shortlink(self, model: SiteModel, value: str) -> _Page | None:
        article = model.by_id.get(int(value)) if value.isdigit() else None
        return _redirect(301, BASE_PLACEHOLDER + article.path) if article else None

    def _one_time_failure(self, model: SiteModel, path: str, method: str, memory: FirstTimeFailures) -> _Page | None:
        kinds = {model.flaky_path: (503, "Service Unavailable"), model.busy_path: (429, "Too Many Requests")}
        if path not in kinds:
            return None
        # A HEAD shows the failure too but does not use it up; the first GET does.
        failing = memory.claim(path) if method != "HEAD" else memory.pending(path)
        if not failing:
            return None
        status, reason = kinds[path]
        text = (
            f"<!DOCTYPE html><html><head><title>{status} {reason}</title></head>"
            f"<body><h1>{reason}</h1><p>Please try again in a moment.</p></body></html>"
        )
        return _Page(
            status,
            text.encode("utf-8"),
            (("Content-Type", "text/html; charset=utf-8"), ("Retry-After", RETRY_AFTER_SECONDS)),
        )

    def _resource(self, model: SiteModel, path: str) -> _Resource | None:
        removal = model.removed.get(path)
        if removal is not None:
            return _Resource(self._removal_page(model, removal))
        article = model.by_path.get(path) or self._private_by_path.get(path)
        if article is not None:
            return _Resource(
                self._article_page("page", article), article.modified or article.published, article.volatile
            )
        amp_of = model.amp_by_path.get(path)
        if amp_of is not None:
            return _Resource(self._article_page("amp", amp_of), amp_of.modified or amp_of.published)
        copy = self._wire_by_path.get(path)
        if copy is not None:
            original = copy.original
            key = ("wire", copy.path, 0)
            if key not in self._article_pages:
                text = pages.portal_article(
                    self.models[0], BASE_PLACEHOLDER, original, self.paragraphs(original), copy.path
                )
                self._article_pages[key] = _html(text)
            return _Resource(self._article_pages[key], original.modified or original.published)
        page = self._listing(model.epoch, path, self.misbehaviour.sitemap_lastmod)
        if page is None:
            return None
        return _Resource(page, self._last_changed(model.epoch, path) if page.status == 200 else None)

    def _article_page(self, kind: str, article: Article) -> _Page:
        """An article (or its AMP copy) as printed in its birth epoch's chrome; cached per revision."""
        key = (kind, article.path, article.revision)
        page = self._article_pages.get(key)
        if page is None:
            chrome = self.models[article.born_epoch]
            paragraphs = self.paragraphs(article)
            if kind == "amp":
                text = pages.amp_article(chrome, BASE_PLACEHOLDER, article, paragraphs)
            else:
                text = pages.article_page(chrome, BASE_PLACEHOLDER, article, paragraphs)
            markup_edits = sum(1 for edit_kind, _ in article.edits if edit_kind == EditKind.MARKUP)
            text = _with_markup_revision(text, markup_edits)
            page = self._article_pages[key] = _html(text, article.encoding if kind == "page" else "utf-8")
        return page

    def _removal_page(self, model: SiteModel, removal: Removal) -> _Page:
        if removal.kind is RemovalKind.REDIRECT_HOME:
            return _redirect(301, BASE_PLACEHOLDER + "/")
        if removal.kind is RemovalKind.GONE:
            main_html = (
                "<h1>This article has been removed</h1><p>The article you were looking for is no longer "
                'available. Try the <a href="/">home page</a>.</p>'
            )
            text = pages.portal_page(
                model,
                BASE_PLACEHOLDER,
                title=f"Gone | {m.SITE_NAME}",
                path=removal.path,
                description="This article has been removed.",
                main_html=main_html,
                body_class="error410",
            )
            return _html(text, status=410)
        return _html(pages.not_found_page(model, BASE_PLACEHOLDER, removal.path), status=404)

    def _listing(self, epoch: int, path: str, style: LastmodStyle) -> _Page | None:
        """Any page but an article, as served in ``epoch``; cached per epoch unless endless."""
        if path.startswith(UNCACHED_PREFIXES):
            return self._render(self.models[epoch], path, style)
        key = (epoch, path, style)
        if key not in self._pages:
            self._pages[key] = self._render(self.models[epoch], path, style)
        return self._pages[key]

    def _last_changed(self, epoch: int, path: str) -> datetime:
        """The time of the epoch in which this page's bytes last changed (epoch 0's time if never)."""
        if path.startswith(UNCACHED_PREFIXES):
            return self.models[epoch].epoch_time
        key = (epoch, path)
        if key not in self._since:
            current = self._listing(epoch, path, LastmodStyle.ISO)
            moment = self.models[0].epoch_time
            for older in range(epoch - 1, -1, -1):
                previous = self._listing(older, path, LastmodStyle.ISO)
                if previous is None or current is None or previous.body != current.body:
                    moment = self.models[older + 1].epoch_time
                    break
            self._since[key] = moment
        return self._since[key]

    def _render(self, model: SiteModel, key: str, style: LastmodStyle) -> _Page | None:
        for pattern, handler in self._routes(model, style):
            match = pattern.fullmatch(key)
            if match:
                return handler(BASE_PLACEHOLDER, *match.groups())
        return None

    def _routes(
        self, site: SiteModel, style: LastmodStyle
    ) -> list[tuple[re.Pattern[str], Callable[..., _Page | None]]]:

        def maybe_html(text: str | None) -> _Page | None:
            return _html(text) if text is not None else None

        def section(base: str, slug: str, page: str | None) -> _Page | None:
            if slug == "wire" and page is None:
                return _html(pages.wire_section_page(site, base))
            if slug not in dict(m.SECTIONS) or page == "1":
                return None
            return maybe_html(pages.section_page(site, base, slug, int(page or 1)))

        def calendar_month(base: str, year: str, month: str) -> _Page | None:
            if not (int(year) >= 1 and 1 <= int(month) <= 12):
                return None
            return _html(pages.calendar_page(site, base, int(year), int(month)))

        def article_sitemap(base: str, number: str) -> _Page | None:
            text = feeds.article_sitemap(site, base, int(number), style)
            return _file(text, "application/xml; charset=utf-8") if text else None

        def report(base: str, year: str) -> _Page | None:
            if int(year) not in m.REPORT_NUMBERS:
                return None
            return _file(feeds.annual_report_pdf(int(year)), "application/pdf")

        def download(base: str, number: str) -> _Page | None:
            if int(number) not in m.DOWNLOAD_NUMBERS:
                return None
            disposition = ("Content-Disposition", f'attachment; filename="reader-survey-part-{number}.pdf"')
            return _file(feeds.survey_pdf(int(number)), "application/pdf", disposition)

        def sitemap_index(base: str) -> _Page:
            # Each sub-sitemap's <lastmod> is its own Last-Modified: when its bytes last changed.
            lastmods = {path: self._last_changed(site.epoch, path) for path in feeds.sitemap_index_paths(site)}
            return _file(feeds.sitemap_index(site, base, lastmods, style), xml)

        xml = "application/xml; charset=utf-8"
        return [
            (re.compile(r"/"), lambda base: _html(pages.home_page(site, base))),
            (re.compile(r"/section/([a-z]+)/(?:page/(\d+)/)?"), section),
            (re.compile(r"/tag/([a-z0-9-]+)/"), lambda base, slug: maybe_html(pages.tag_page(site, base, slug))),
            (re.compile(r"/author/([a-z0-9-]+)/"), lambda base, slug: maybe_html(pages.author_page(site, base, slug))),
            (re.compile(r"/about/"), lambda base: _html(pages.about_page(site, base))),
            (re.compile(r"/contact/"), lambda base: _html(pages.contact_page(site, base))),
            (re.compile(r"/login/"), lambda base: _html(pages.login_page(site, base))),
            (re.compile(r"/calendar/(\d{4})/(\d{2})/"), calendar_month),
            (re.compile(r"/live/([a-z0-9-]+)/"), lambda base, slug: maybe_html(pages.live_page(site, base, slug))),
            (re.compile(r"/robots\.txt"), lambda base: _file(feeds.robots_txt(base), "text/plain; charset=utf-8")),
            (
                re.compile(r"/feed/rss\.xml"),
                lambda base: _file(feeds.rss_feed(site, base), "application/rss+xml; charset=utf-8"),
            ),
            (
                re.compile(r"/feed/atom\.xml"),
                lambda base: _file(feeds.atom_feed(site, base), "application/atom+xml; charset=utf-8"),
            ),
            (re.compile(r"/sitemap_index\.xml"), sitemap_index),
            (re.compile(r"/sitemaps/articles-(\d+)\.xml"), article_sitemap),
            (re.compile(r"/sitemaps/news\.xml"), lambda base: _file(feeds.news_sitemap(site, base), xml)),
            (re.compile(r"/sitemaps/pages\.xml"), lambda base: _file(feeds.pages_sitemap(base), xml)),
            (re.compile(r"/sitemaps/archive-index\.xml"), lambda base: _file(feeds.archive_sitemap_index(base), xml)),
            (re.compile(r"/files/report-(\d{4})\.pdf"), report),
            (re.compile(r"/download/(\d+)"), download),
            (re.compile(r"/img/\d+\.jpg"), lambda base: _file(feeds.TINY_JPEG, "image/jpeg")),
            (re.compile(r"/loop/a"), lambda base: _redirect(302, base + "/loop/b")),
            (re.compile(r"/loop/b"), lambda base: _redirect(302, base + "/loop/a")),
        ]


@contextmanager
def serve_site(site: NewsSite) -> Iterator[ServedSite]:
    """Serve ``site`` on 127.0.0.1 (any free port), with fresh one-time failures and a fresh ``log``."""
    failures = FirstTimeFailures()
    log = RequestLog()
    with serve(lambda request: site.app(request, failures, log)) as local:
        yield ServedSite(local, site, log)
