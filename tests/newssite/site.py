"""``NewsSite``: the fixture news site's public face for tests, plus ``serve_site`` to run it.

``NewsSite(n_articles, seed)`` builds the model (no I/O, no rendering); pages are rendered on first
request and cached (with a placeholder for the base URL), so a crawl of thousands of pages stays
fast. The answers a correct crawl must reach (``expected_articles``, ``alias_urls``, ...) come from
the same model the pages are printed from. One-time failures (503 on ``/flaky/``, 429 on
``/busy/...``) are remembered per ``serve_site`` call, so every test starts with a fresh server.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from crawler.demo.server import LocalSite, Reply, Request, serve
from tests.newssite import feeds, pages
from tests.newssite import model as m
from tests.newssite.model import Article

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


class NewsSite:
    """A generated news site; see the package docstring for what it contains."""

    def __init__(self, n_articles: int = 60, seed: int = 1) -> None:
        self.n_articles = n_articles
        self.seed = seed
        self.model = m.build_model(n_articles, seed)
        self._paragraphs: dict[int, list[str]] = {}
        self._pages: dict[str, _Page | None] = {}
        self._default_failures = FirstTimeFailures()
        self._private_by_path = {a.path: a for a in self.model.private_articles}
        self._wire_by_path = {c.path: c for c in self.model.wire_copies}

    # --- What a correct crawl must find ------------------------------------------------------

    def paragraphs(self, article: Article) -> list[str]:
        cached = self._paragraphs.get(article.article_id)
        if cached is None:
            cached = self._paragraphs[article.article_id] = m.article_paragraphs(article)
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
        return {base + alias: base + path for alias, path in m.alias_paths(self.model).items()}

    def disallowed_prefixes(self) -> list[str]:
        return list(m.DISALLOWED_PREFIXES)

    # --- Serving ---------------------------------------------------------------------------

    def app(self, request: Request, failures: FirstTimeFailures | None = None) -> Reply:
        """Answer one request; ``failures`` is the per-server memory of one-time errors."""
        memory = failures or self._default_failures
        parts = urlsplit(request.path)
        path = parts.path or "/"
        if path == "/" and "p" in parse_qs(parts.query):
            page = self._shortlink(parse_qs(parts.query)["p"][0])
        else:
            page = self._one_time_failure(path, request.method, memory) or self._cached(path)
        if page is None:
            page = _html(pages.not_found_page(self.model, BASE_PLACEHOLDER, path), status=404)
        return page.reply(request.base_url)

    def _shortlink(self, value: str) -> _Page | None:
        article = self.model.by_id.get(int(value)) if value.isdigit() else None
        return _redirect(301, BASE_PLACEHOLDER + article.path) if article else None

    def _one_time_failure(self, path: str, method: str, memory: FirstTimeFailures) -> _Page | None:
        kinds = {self.model.flaky_path: (503, "Service Unavailable"), self.model.busy_path: (429, "Too Many Requests")}
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

    def _cached(self, path: str) -> _Page | None:
        if path.startswith(UNCACHED_PREFIXES):
            return self._render(BASE_PLACEHOLDER, path)
        if path not in self._pages:
            self._pages[path] = self._render(BASE_PLACEHOLDER, path)
        return self._pages[path]

    def _render(self, base: str, key: str) -> _Page | None:
        site = self.model
        article = site.by_path.get(key) or self._private_by_path.get(key)
        if article is not None:
            return _html(pages.article_page(site, base, article, self.paragraphs(article)), article.encoding)
        amp_of = site.amp_by_path.get(key)
        if amp_of is not None:
            return _html(pages.amp_article(site, base, amp_of, self.paragraphs(amp_of)))
        copy = self._wire_by_path.get(key)
        if copy is not None:
            return _html(pages.portal_article(site, base, copy.original, self.paragraphs(copy.original), copy.path))
        for pattern, handler in self._routes():
            match = pattern.fullmatch(key)
            if match:
                return handler(base, *match.groups())
        return None

    def _routes(self) -> list[tuple[re.Pattern[str], Callable[..., _Page | None]]]:
        site = self.model

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
            text = feeds.article_sitemap(site, base, int(number))
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
            (re.compile(r"/sitemap_index\.xml"), lambda base: _file(feeds.sitemap_index(site, base), xml)),
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
def serve_site(site: NewsSite) -> Iterator[LocalSite]:
    """Serve ``site`` on 127.0.0.1 (any free port), with fresh one-time failures."""
    failures = FirstTimeFailures()
    with serve(lambda request: site.app(request, failures)) as local:
        yield local
