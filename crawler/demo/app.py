"""The built-in demo news site, *The Harbridge Courier*, as an app for :mod:`crawler.demo.server`.

``newsarchive demo`` serves this app on 127.0.0.1 and crawls it, so a new user can watch a complete
crawl with no internet. The pages are static files under ``crawler/demo/site/`` (package data, read
with :mod:`importlib.resources`); the placeholder ``{{BASE}}`` in them is replaced by the server's
base URL at request time so canonical links, sitemaps and the feed carry absolute URLs. Nothing here
is configurable: the site is the same on every run, apart from its base URL.

What the site holds for the crawler to find (see :data:`DEMO_ARTICLES`):

* six articles reachable by links from the home page, the sections, ``/news/page/2/``, the tag page
  and the author page; the home page links one of them with newsletter ``utm_`` parameters and one
  with ``#comments``;
* one article listed only in ``sitemap.xml`` and one listed only in ``feed.xml``;
* an AMP copy of one article at ``{article}amp/`` whose ``rel=canonical`` points back;
* ``robots.txt`` disallowing ``/admin/`` (which exists and is linked from every page's footer) and
  naming ``sitemap.xml`` and ``news-sitemap.xml``;
* off-site links to ``.example`` hosts, which never resolve (every same-site link answers: the
  bundled demo's first crawl reports no errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from urllib.parse import unquote, urlsplit

from crawler.demo.server import Reply, Request

BASE_PLACEHOLDER = "{{BASE}}"
NOT_FOUND_PAGE = "404.html"

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".js": "text/javascript; charset=utf-8",
}
_RSS_TYPE = "application/rss+xml; charset=utf-8"
_XML_TYPE = "application/xml; charset=utf-8"
# Only text files carry the placeholder; anything else is served byte for byte.
_TEMPLATED_SUFFIXES = frozenset({".html", ".txt", ".xml", ".css", ".js"})


@dataclass(frozen=True)
class DemoArticle:
    """One real article of the demo site, and how a crawler can discover it."""

    path: str  # canonical path, e.g. "/2025/03/28/eastfield-bus-route-approved/"
    title: str  # the headline, as in <h1>, og:title and the feed
    published: str  # article:published_time, ISO 8601 with UTC offset
    found_via: str  # "links" (linked from pages, in sitemap; maybe in feed), "sitemap only", "feed only"
    has_comments: bool = False  # WordPress-style post with reader comments and the comment form
    amp_path: str | None = None  # AMP copy whose rel=canonical points back to ``path``


DEMO_ARTICLES: tuple[DemoArticle, ...] = (
    DemoArticle(
        "/2025/03/14/harbour-logbooks-digitised/",
        "Library puts a century of harbour logbooks online",
        "2025-03-14T10:00:00+00:00",
        "sitemap only",
    ),
    DemoArticle(
        "/2025/03/24/harbour-wall-repairs-begin/",
        "Repairs begin on storm-damaged harbour wall",
        "2025-03-24T08:00:00+00:00",
        "links",
    ),
    DemoArticle(
        "/2025/03/26/fishermens-choir-fifty-years/",
        "Fishermen's Choir marks fifty years with a sold-out concert",
        "2025-03-26T18:20:00+00:00",
        "links",
    ),
    DemoArticle(
        "/2025/03/28/eastfield-bus-route-approved/",
        "Council approves new bus route linking Eastfield to the station",
        "2025-03-28T07:45:00+00:00",
        "links",
    ),
    DemoArticle(
        "/2025/03/31/skerrow-ferry-winter-timetable-extended/",
        "Winter ferry timetable to run into April after engine fault",
        "2025-03-31T09:30:00+01:00",
        "links",
        amp_path="/2025/03/31/skerrow-ferry-winter-timetable-extended/amp/",
    ),
    DemoArticle(
        "/2025/04/01/old-net-loft-gallery-opens/",
        "Old net loft reopens as a gallery for local painters",
        "2025-04-01T11:00:00+01:00",
        "links",
    ),
    DemoArticle(
        "/2025/04/02/quay-street-cycle-lane-consultation/",
        "Residents divided over Quay Street cycle lane plan",
        "2025-04-02T07:00:00+01:00",
        "links",
        has_comments=True,
    ),
    DemoArticle(
        "/2025/04/04/lifeboat-rescues-kayakers-gull-point/",
        "Lifeboat crew rescues two kayakers off Gull Point",
        "2025-04-04T16:40:00+01:00",
        "feed only",
    ),
)


def demo_article_paths() -> list[str]:
    """Canonical paths of the demo site's real articles (AMP copies excluded), oldest first."""
    return [article.path for article in DEMO_ARTICLES]


def site_root() -> Traversable:
    """The packaged static site (``crawler/demo/site``)."""
    return files("crawler.demo").joinpath("site")


def resolve_site_file(root: Traversable, url_path: str) -> Traversable | None:
    """The file answering ``url_path`` (no query), or None when there is none.

    A directory answers with its ``index.html``. Dot segments are refused rather than normalised so
    a request can never climb out of the site folder.
    """
    segments = [segment for segment in unquote(url_path).split("/") if segment]
    if any(segment.startswith(".") or "\\" in segment for segment in segments):
        return None
    node = root.joinpath(*segments) if segments else root
    if node.is_dir():
        node = node.joinpath("index.html")
    return node if node.is_file() else None


def content_type_for(name: str, body: bytes) -> str:
    """Content-Type for a site file; ``.xml`` is RSS when the document is an ``<rss>`` feed."""
    suffix = _suffix(name)
    if suffix == ".xml":
        return _RSS_TYPE if b"<rss" in body[:500] else _XML_TYPE
    return _CONTENT_TYPES.get(suffix, "application/octet-stream")


def fill_base(body: bytes, name: str, base_url: str) -> bytes:
    """Replace every ``{{BASE}}`` in a text file with ``base_url`` (no trailing slash)."""
    if _suffix(name) not in _TEMPLATED_SUFFIXES:
        return body
    return body.replace(BASE_PLACEHOLDER.encode(), base_url.rstrip("/").encode())


def demo_app(request: Request) -> Reply:
    """Answer one request to the demo site: a static file, a slash redirect, or the 404 page."""
    root = site_root()
    url_path = urlsplit(request.path).path or "/"
    found = resolve_site_file(root, url_path)
    if found is None or found.name == NOT_FOUND_PAGE:
        return _not_found(root, request.base_url)
    if found.name == "index.html" and not url_path.endswith("/") and not url_path.endswith("index.html"):
        # Like most web servers: a directory asked for without its slash moves to the slashed URL.
        return Reply(status=301, headers={"Location": f"{request.base_url}{url_path}/"})
    body = found.read_bytes()
    return Reply(
        status=200,
        body=fill_base(body, found.name, request.base_url),
        headers={"Content-Type": content_type_for(found.name, body)},
    )


def _not_found(root: Traversable, base_url: str) -> Reply:
    page = root.joinpath(NOT_FOUND_PAGE)
    return Reply(
        status=404,
        body=fill_base(page.read_bytes(), page.name, base_url),
        headers={"Content-Type": _CONTENT_TYPES[".html"]},
    )


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""
