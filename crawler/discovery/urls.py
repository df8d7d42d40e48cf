"""URL rules for the whole crawler, kept in one place.

* :func:`canonicalize_url` gives the key under which a page is stored and de-duplicated: tracking
  parameters, session ids and fragments never make two archive rows for one article.
* :func:`strip_amp` maps an AMP page URL to the URL of its likely canonical page.
* :func:`url_pattern` is the key of the crawler-trap budget (calendars, endless pagination).
* :func:`is_on_hosts` decides whether a link stays inside a source (see ``SourceConfig.hosts()``).
* :func:`looks_like_non_html` skips links to files that are never articles.
* :func:`never_article_reason` skips links to pages that are never articles (log-in, admin, comment
  feeds, reply/print/share variants, XML-RPC): :data:`NEVER_ARTICLE_URLS`.

No settings drive this module; the lists below are the policy. The mechanics (percent-encoding,
query sorting, dot segments, IDN hosts) are w3lib's ``canonicalize_url``; this module only adds
the news-specific rules around it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as w3lib_canonicalize_url

from archive.tracking import is_tracking_parameter

# Session ids carried as path parameters, e.g. "/story.jsp;jsessionid=0A1B".
SESSION_PATH_PARAMETER = re.compile(r";(?:jsessionid|phpsessid|sid|sessionid)=[^/;?#]*", re.I)
DEFAULT_PORTS = {"http": 80, "https": 443}
# A canonical host: lower-case letters, digits, "-" and "_" in dot-separated labels (IDN hosts are
# punycode by then), or an IPv6 literal (with an optional zone).
CANONICAL_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f]*:[0-9a-f:.]*(?:%25[0-9a-z._~-]+)?\]")

# Web-only non-page types that Scrapy's IGNORED_EXTENSIONS lacks: fonts, modern image/video
# formats, data files and source maps.
EXTRA_NON_HTML_EXTENSIONS: frozenset[str] = frozenset(
    "woff woff2 ttf otf eot avif heic jfif mkv flac opus m3u8 gz bz2 tgz zst epub rtf csv json xml mjs map ics".split()
)

AMP_CACHE_HOST_SUFFIX = ".cdn.ampproject.org"
# Google AMP cache: /c/ = document, /v/ = viewer; an "s/" segment marks an https origin.
AMP_CACHE_PATH = re.compile(r"^/[cv]/(?P<secure>s/)?(?P<rest>[^/]+.*)$")
AMP_QUERY_FLAGS = {"amp": {"", "1", "true"}, "outputtype": {"amp"}}


# Links that are never articles and that sites (WordPress above all) put on every page: each would
# cost a request. Matched, case-insensitively, against "path?query" of the canonical URL (query keys
# sorted, so a key is at the start or after "&"). Not here: AMP copies (strip_amp handles them) and
# WordPress's ?replytocom= and ?share= links, which canonicalize_url reduces to the article itself.
NEVER_ARTICLE_URLS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("login", r"/wp-login\.php(\?|$)"),
        ("admin", r"/wp-admin(/|\?|$)"),
        ("xmlrpc", r"/xmlrpc\.php(\?|$)"),
        ("api", r"/wp-json(/|\?|$)"),
        ("comment feed", r"/comments/feed(/|\?|$)"),
        ("comment feed", r"\?(.*&)?feed=comments-[a-z0-9]+(&|$)"),
        ("feed of a page", r"^/[^?]+/feed(/(atom|rss|rss2|rdf))?/?(\?|$)"),
        ("site feed", r"^/feed(/(atom|rss|rss2|rdf))?/?(\?|$)"),
        ("site feed", r"\?(.*&)?feed=(rss2?|atom|rdf)(&|$)"),
        ("wordpress files", r"^/wp-(content|includes)/"),
        ("trackback", r"/trackback/?(\?|$)"),
        ("print", r"\?(.*&)?(print=(1|true|yes|on)?(&|$)|output=print(&|$))"),
        ("print", r"/print/?(\?|$)"),
        ("share", r"(/share/?\?|/sharer(\.php)?(/|\?|$)|/intent/(tweet|post)(/|\?|$))"),
        ("email protection", r"^/cdn-cgi/"),
    )
)


def _checked_split(url: str) -> SplitResult:
    """Split an absolute http(s) URL, or raise ValueError naming the URL."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http(s) URL (expected e.g. https://news.example/)")
    return parts


def _query_key(query_part: str) -> str:
    return unquote_plus(query_part.partition("=")[0]).strip().lower()


def _drop_query_parts(query: str, unwanted) -> str:
    return "&".join(part for part in query.split("&") if part and not unwanted(part))


def _is_noise_query_part(query_part: str) -> bool:
    key = _query_key(query_part)
    if key == "amp":  # a bare "?amp" flag; "?amp=1" is strip_amp's business
        return query_part.partition("=")[2] == ""
    return is_tracking_parameter(key)


def _netloc_without_default_port(netloc: str, scheme: str) -> str:
    """Host and port, the port left out when it is the scheme's default; a user name and password
    are dropped too: the crawler never logs in, and a URL is stored in the archive and its logs."""
    _userinfo, _at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal: the port follows "]"
        host, _, port = hostport.partition("]")
        host += "]"
        port = port.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    host = host.rstrip(".")
    if port and port != str(DEFAULT_PORTS[scheme]):
        host = f"{host}:{port}"
    return host


@functools.lru_cache(maxsize=16384)  # a site's navigation links recur on every page it has
def canonicalize_url(url: str) -> str:
    """The canonical form of an http(s) URL, used as the archive's de-duplication key.

    Lower-cases scheme and host (IDN hosts become punycode), drops a user name and password, default ports, the fragment,
    tracking/session parameters (:func:`archive.tracking.is_tracking_parameter`,
    ``;jsessionid=`` path parameters, a bare ``amp`` flag), sorts the remaining query parameters
    and normalises percent-encoding. Path case and a trailing slash are kept.
    Raises ValueError for anything that is not an absolute http(s) URL.
    """
    parts = _checked_split(url)
    path = SESSION_PATH_PARAMETER.sub("", parts.path)
    query = _drop_query_parts(parts.query, _is_noise_query_part)
    cleaned = urlunsplit((parts.scheme, parts.netloc, path, query, ""))
    canonical = urlsplit(w3lib_canonicalize_url(cleaned, keep_blank_values=True))
    netloc = _netloc_without_default_port(canonical.netloc, canonical.scheme)
    host = netloc if netloc.endswith("]") else netloc.rsplit(":", 1)[0]
    if not CANONICAL_HOST.fullmatch(host):
        # "http://./", "http://\x08/", "http://a b/": w3lib leaves no host, or one no server can have.
        raise ValueError(f"{url!r} has no valid host name (expected e.g. https://news.example/)")
    return urlunsplit((canonical.scheme, netloc, canonical.path, canonical.query, ""))


def _without_amp_segment(path: str) -> str:
    """Drop an "amp" path segment when it is the first or the last one (never one in between)."""
    segments = path.split("/")  # "/a/amp/" -> ["", "a", "amp", ""]
    named = [i for i, segment in enumerate(segments) if segment]
    if not named:
        return path
    last, first = named[-1], named[0]
    if segments[last].lower() == "amp":
        del segments[last]
    elif segments[first].lower() == "amp" and len(named) > 1:
        del segments[first]
    stripped = "/".join(segments)
    return stripped if stripped.startswith("/") else "/" + stripped


def strip_amp(url: str) -> str:
    """The likely canonical URL of an AMP page; other URLs come back unchanged.

    Handles Google AMP cache URLs (``https://news-example.cdn.ampproject.org/c/s/news.example/a``),
    an ``amp.`` host prefix, an ``amp`` first or last path segment (``/story/amp/``, ``/amp/story``),
    a ``.amp.html`` suffix and the ``?amp``, ``?amp=1`` and ``?outputType=amp`` flags.
    Raises ValueError for anything that is not an absolute http(s) URL.
    """
    parts = _checked_split(url)
    hostname = parts.hostname or ""
    if hostname.endswith(AMP_CACHE_HOST_SUFFIX):
        cached = AMP_CACHE_PATH.match(parts.path)
        if cached:
            scheme = "https" if cached["secure"] else "http"
            query = f"?{parts.query}" if parts.query else ""
            return strip_amp(f"{scheme}://{cached['rest']}{query}")
        return url
    netloc = parts.netloc
    if hostname.startswith("amp.") and hostname.count(".") >= 2:
        netloc = re.sub(r"(^|@)amp\.", r"\1", netloc, count=1, flags=re.I)
    path = _without_amp_segment(parts.path)
    path = re.sub(r"\.amp\.html?$", ".html", path, flags=re.I)

    def is_amp_flag(query_part: str) -> bool:
        values = AMP_QUERY_FLAGS.get(_query_key(query_part))
        return values is not None and unquote_plus(query_part.partition("=")[2]).lower() in values

    query = _drop_query_parts(parts.query, is_amp_flag)
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def url_pattern(url: str) -> str:
    """The crawler-trap budget key of a URL: host, path with digit-only segments as ``{n}``, and
    the sorted query keys, e.g. ``news.example/calendar/{n}/{n}/?view``.
    Raises ValueError for anything that is not an absolute http(s) URL.
    """
    parts = urlsplit(canonicalize_url(url))
    path = "/".join("{n}" if segment.isdigit() else segment for segment in parts.path.split("/"))
    keys = sorted({part.partition("=")[0] for part in parts.query.split("&") if part})
    query = "?" + "&".join(keys) if keys else ""
    return f"{parts.netloc}{path}{query}"


def host_key(host: str) -> str:
    """A host as compared across the crawler: lower-case, punycode, no "www.", no trailing dot."""
    host = host.strip().rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass  # not a valid IDN (e.g. an IP literal or an over-long label): compare it as written
    return host.removeprefix("www.")


def url_host(url: str) -> str:
    """:func:`host_key` of a URL's host, "" when the URL has none."""
    return host_key(urlsplit(url.strip()).hostname or "")


def is_on_hosts(url: str, hosts: Collection[str]) -> bool:
    """True when the URL's host is one of ``hosts`` or a subdomain of one ("www." ignored)."""
    host = url_host(url)
    if not host:
        return False
    return any(host == allowed or host.endswith("." + allowed) for allowed in map(host_key, hosts) if allowed)


@functools.cache
def non_html_extensions() -> frozenset[str]:
    """Scrapy's list of non-page extensions (documents, media, archives, executables, css/js) plus ours.

    Imported on first use: loading a sources file (which needs this module's host rules) must not
    load Scrapy, so that the CLI's read-only commands start fast.
    """
    from scrapy.linkextractors import IGNORED_EXTENSIONS

    return frozenset(IGNORED_EXTENSIONS) | EXTRA_NON_HTML_EXTENSIONS


def looks_like_non_html(url: str) -> bool:
    """True when the URL's path ends in an extension of a non-page file (pdf, image, video, audio,
    archive, office document, css/js, font, data file); see :func:`non_html_extensions`."""
    last_segment = urlsplit(url.strip()).path.rsplit("/", 1)[-1]
    stem, dot, extension = last_segment.rpartition(".")
    return bool(dot and stem) and unquote_plus(extension).lower() in non_html_extensions()


def never_article_reason(url: str) -> str | None:
    """Why a URL is a link that is never an article (see :data:`NEVER_ARTICLE_URLS`), None when it may be one."""
    parts = urlsplit(url.strip())
    target = parts.path + ("?" + parts.query if parts.query else "")
    for name, pattern in NEVER_ARTICLE_URLS:
        if pattern.search(target):
            return name
    return None
