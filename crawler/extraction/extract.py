"""Article extraction: one HTML page in, one plain dict of article fields out.

:func:`extract_page` is a pure, top-level function so it can run in worker processes
(see :mod:`crawler.extraction.pool`). It decodes the body the way Scrapy does
(:func:`decode_html`), drops boilerplate that trafilatura would otherwise keep (WordPress/Jetpack
comment widgets, share buttons, related posts, cookie banners: ``DEFAULT_DROP_SELECTORS``), runs
trafilatura for the article text and base metadata, and reads JSON-LD / ``<meta>`` itself for what
trafilatura loses (full timestamps with UTC offset, author lists, og:type, JSON-LD types).

Settings that drive it (passed in by the caller): ``drop_selectors`` (CSS selectors of elements to
remove before extraction) and ``min_text_chars`` (below this much text a page with an app root,
"Loading…" or a placeholder phrase is flagged as ``app_shell`` / ``placeholder``).

Output format of ``text``: blocks (paragraphs, headings, list, quotes, table rows as trafilatura
groups them) are separated by a blank line (``"\\n\\n"``); a line break inside a block (``<br>``,
list items) is a single ``"\\n"``. The headline is not repeated at the top of ``text``.

On a page that cannot be parsed the function does not raise: it returns the usual keys with empty
values plus an ``error`` key naming the failure. The ``error`` key is absent on success.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from html import unescape as html_unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector
from trafilatura import bare_extraction
from trafilatura.xml import xmltotxt
from w3lib.encoding import html_to_unicode, http_content_type_encoding, resolve_encoding

from crawler.extraction.language import detect_language, resolve_language

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

# Lines of the Jetpack comment widget; a safety net for markup the selectors above do not match.
WIDGET_LINE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^leave a (reply|comment)\b", re.I),
    re.compile(r"fill in your details below or click an icon to log in", re.I),
    re.compile(r"you are commenting using your\b.*\baccount", re.I),
    re.compile(r"^connecting to %s", re.I),
    re.compile(r"^notify me of (new comments|new posts|follow-up comments)", re.I),
)

ARTICLE_JSONLD_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "BlogPosting",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "LiveBlogPosting",
        "SocialMediaPosting",
        "TechArticle",
        "ScholarlyArticle",
        "Report",
    }
)

APP_ROOT_IDS = ("root", "app", "__next", "__nuxt", "___gatsby", "app-root", "svelte", "main-app")
LOADING_RE = re.compile(r"^\s*(loading|please wait)\s*(…|\.\.\.)?\s*$", re.I)
ENABLE_JS_RE = re.compile(r"enable\s+javascript|javascript\s+(is\s+)?(required|disabled)", re.I)
PLACEHOLDER_RE = re.compile(
    r"lorem ipsum|coming soon|under construction|page not found|\b404\b|"
    r"this (page|content|article) (is|has been) (not available|unavailable|removed|deleted)|"
    r"no longer available|this domain (is|may be) for sale|default web page|it works!",
    re.I,
)
XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
MIN_PARAGRAPH_WORDS = 20

VISIBLE_TEXT = etree.XPath(
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]"
)
LINK_TEXT = etree.XPath(
    "//body//a//text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]"
)


def decode_html(body: bytes, content_type: str | None) -> str:
    """Decode an HTML body to text exactly as Scrapy's ``TextResponse`` does.

    Order: charset in the Content-Type header, BOM, ``<meta>`` charset, then auto-detection
    (ASCII, UTF-8, then charset-normalizer). Latin-1 declarations are read as windows-1252,
    which is what browsers do.
    """
    declared = http_content_type_encoding(content_type)
    if declared and not _decodes(body, declared):
        # The header is wrong (a UTF-8 claim over windows-1252 bytes is common): let the page's own
        # <meta> declaration or detection decide instead of filling the text with U+FFFD.
        content_type = None
    _, text = html_to_unicode(content_type, body, default_encoding="ascii", auto_detect_fun=_detect_encoding)
    return text


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _detect_encoding(body: bytes) -> str | None:
    for encoding in ("ascii", "utf-8"):
        try:
            body.decode(encoding)
        except UnicodeError:
            continue
        return resolve_encoding(encoding)
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # Scrapy depends on it; without it, windows-1252 is the browsers' guess
        return "cp1252"
    match = from_bytes(body).best()
    return resolve_encoding(match.encoding) if match else "cp1252"


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


def extract_page(
    body: bytes,
    url: str,
    content_type: str | None = None,
    drop_selectors: tuple[str, ...] = DEFAULT_DROP_SELECTORS,
    min_text_chars: int = 200,
) -> dict[str, Any]:
    """Extract article text, metadata and page-type signals from one HTML page.

    Never raises on bad input: a page that cannot be parsed gives empty fields and ``error``.
    """
    try:
        return _extract(body, url, content_type, drop_selectors, min_text_chars)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError, TypeError, LookupError) as exc:
        return failed_fields(f"could not parse HTML of {url}: {type(exc).__name__}: {exc}")
    except Exception as exc:
        return failed_fields(f"extraction failed for {url}: {type(exc).__name__}: {exc}")


def _extract(
    body: bytes, url: str, content_type: str | None, drop_selectors: tuple[str, ...], min_text_chars: int
) -> dict[str, Any]:
    html = XML_DECLARATION_RE.sub("", decode_html(body, content_type), count=1)
    if not html.strip():
        return failed_fields(f"empty HTML body for {url}")
    tree = lxml.html.document_fromstring(html)

    # Read everything that lives in <head>, <script> and <noscript> before boilerplate is dropped.
    meta = _meta_values(tree)
    jsonld_entities = list(_jsonld_entities(tree))
    jsonld_objects = [obj for obj, _ in jsonld_entities]
    jsonld_types = [t for obj in jsonld_objects for t in _types_of(obj)]
    main_articles = _main_articles(jsonld_entities)
    jsonld_by_id = {obj["@id"]: obj for obj in jsonld_objects if isinstance(obj.get("@id"), str)}
    article_ld = next(
        (obj for obj in _with_main_entities(jsonld_objects) if ARTICLE_JSONLD_TYPES & set(_types_of(obj))), {}
    )
    site_names = _site_names(meta, jsonld_objects, article_ld, jsonld_by_id)
    host = _hosts(url, tree, meta)
    title_candidates = _title_candidates(tree, meta, article_ld)
    bylines = _byline_texts(tree)  # before trafilatura, which prunes the tree in place
    noscript_text = " ".join(" ".join(el.itertext()) for el in tree.iter("noscript"))
    has_empty_app_root = _has_empty_app_root(tree)
    has_data_blob = _has_data_blob(tree)

    _drop_elements(tree, drop_selectors)
    _drop_link_lines(tree)
    # <noscript> holds "enable JavaScript" notices and tracking pixels, never the article.
    for el in list(tree.iter("noscript")):
        el.drop_tree()

    document = bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
    )
    title = _best_title(_clean(getattr(document, "title", None)), title_candidates, site_names, host)
    text = _article_text(document, title)

    visible_chars, link_chars = _text_lengths(tree)
    short = len(text) < min_text_chars
    app_shell = short and (
        has_empty_app_root
        or has_data_blob
        or any(LOADING_RE.match(line) for line in _visible_lines(tree))
        or bool(ENABLE_JS_RE.search(noscript_text))
    )
    placeholder = short and bool(PLACEHOLDER_RE.search(f"{title or ''}\n{text}"))
    if "lorem ipsum" in text.lower():
        placeholder = True
    if app_shell:
        text = ""  # what a shell shows ("Loading…") is chrome, not article text

    fields = empty_fields()
    fields.update(
        {
            "title": title,
            "authors": _authors(
                article_ld, jsonld_by_id, meta, getattr(document, "author", None), bylines, site_names, host
            ),
            "published_at": _published_at(tree, article_ld, meta, getattr(document, "date", None)),
            "modified_at": _first_timestamp(
                [
                    article_ld.get("dateModified"),
                    meta.get("article:modified_time"),
                    meta.get("og:updated_time"),
                    meta.get("itemprop:dateModified"),
                ]
            ),
            "language": _language(tree, meta, getattr(document, "language", None)),
            "description": _clean(getattr(document, "description", None)) or meta.get("og:description"),
            "site_name": meta.get("og:site_name")
            or _clean(_publisher_name(article_ld))
            or _clean(getattr(document, "sitename", None)),
            "categories": _unique(
                [
                    *(getattr(document, "categories", None) or []),
                    *_as_strings(article_ld.get("articleSection")),
                    *meta.getall("article:section"),
                ]
            ),
            "tags": _unique(
                [
                    *(getattr(document, "tags", None) or []),
                    *meta.getall("article:tag"),
                    *_keywords(article_ld.get("keywords")),
                ]
            ),
            "image": _absolute(url, getattr(document, "image", None) or meta.get("og:image")),
            "canonical_url": _absolute(url, _link_href(tree, "canonical") or meta.get("og:url")),
            "amp_url": _absolute(url, _link_href(tree, "amphtml")),
            "is_amp": _is_amp(tree),
            "text": text,
            "word_count": len(text.split()),
        }
    )
    declared = fields["language"]
    detected, probability = detect_language(text)
    fields.update(
        language=resolve_language(declared, detected, probability),
        language_declared=declared,
        language_detected=detected,
    )
    fields["signals"] = {
        "og_type": (meta.get("og:type") or "").strip().lower() or None,
        "jsonld_types": jsonld_types,
        # Distinct article entities of the page itself (not the related stories of an ItemList).
        "jsonld_main_articles": main_articles,
        "link_density": round(link_chars / visible_chars, 4) if visible_chars else 0.0,
        "article_elements": sum(1 for _ in tree.iter("article")),
        "paragraphs": sum(1 for p in tree.iter("p") if len(p.text_content().split()) >= MIN_PARAGRAPH_WORDS),
        "text_chars": len(text),
        "app_shell": app_shell,
        "placeholder": placeholder,
        "noindex": "noindex" in (meta.get("robots") or "").lower(),
    }
    return fields


class _Meta(dict[str, list[str]]):
    """``<meta>`` values by lower-cased name/property (``itemprop:`` prefixed for microdata)."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        values = super().get(key)
        return values[0] if values else default

    def getall(self, key: str) -> list[str]:
        return list(super().get(key, []))


def _meta_values(tree: lxml.html.HtmlElement) -> _Meta:
    values = _Meta()
    for el in tree.iter("meta"):
        content = _clean(el.get("content"))
        if not content:
            continue
        keys = [el.get("property"), el.get("name")]
        if el.get("itemprop"):
            keys.append(f"itemprop:{el.get('itemprop')}")
        for key in keys:
            if key:
                values.setdefault(key.strip() if key.startswith("itemprop:") else key.strip().lower(), []).append(
                    content
                )
    return values


def _jsonld_entities(tree: lxml.html.HtmlElement) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every JSON-LD object of the page (top level, ``@graph`` members and ItemList entries), with
    whether it is an ItemList entry (a related story, a breadcrumb), not the page's own entity."""
    for script in tree.xpath("//script[@type='application/ld+json']"):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            # Sites often leave trailing commas or raw newlines in strings; lenient second try.
            try:
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw), strict=False)
            except json.JSONDecodeError:
                continue
        yield from _flatten_jsonld(data)


def _flatten_jsonld(data: Any, listed: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten_jsonld(item, listed)
    elif isinstance(data, dict):
        if "@type" in data:
            yield data, listed
        if "@graph" in data:
            yield from _flatten_jsonld(data["@graph"], listed)
        for entry in _as_list(data.get("itemListElement")):
            if isinstance(entry, dict):
                yield from _flatten_jsonld(entry.get("item", entry) if "item" in entry else entry, True)


def _main_articles(entities: list[tuple[dict[str, Any], bool]]) -> int:
    """How many distinct article entities describe the page itself (ItemList entries left out; one
    article given twice, as NewsArticle and Article of the same URL, counts once)."""
    keys = set()
    for obj, listed in entities:
        if listed or not ARTICLE_JSONLD_TYPES & set(_types_of(obj)):
            continue
        page = obj.get("mainEntityOfPage")
        page_id = page.get("@id") if isinstance(page, dict) else page
        key = str(obj.get("url") or page_id or obj.get("@id") or obj.get("headline") or "the page")
        # http and https, www or not, a trailing slash: the same page.
        keys.add(re.sub(r"^https?://(www\.)?", "", key).split("#")[0].split("?")[0].rstrip("/"))
    return len(keys)


def _types_of(obj: dict[str, Any]) -> list[str]:
    return [t.rsplit("/", 1)[-1] for t in _as_list(obj.get("@type")) if isinstance(t, str)]


# Client-rendered sites ship the article as data for their scripts: __NEXT_DATA__, a JSON script,
# window.__INITIAL_STATE__ … A short page carrying a large blob like that is a shell.
DATA_BLOB_MIN_CHARS = 1000
DATA_BLOB_MARKERS = ("__INITIAL_STATE__", "__PRELOADED_STATE__", "__APOLLO_STATE__", "__NUXT__")
NEXT_STREAM_MARKER = "self.__next_f.push"


def _has_data_blob(tree: lxml.html.HtmlElement) -> bool:
    # Next.js App Router streams the page as many small `self.__next_f.push([...])` scripts.
    streamed = 0
    for script in tree.iter("script"):
        content = script.text or ""
        if NEXT_STREAM_MARKER in content[:100]:
            streamed += len(content)
            if streamed >= DATA_BLOB_MIN_CHARS:
                return True
        if len(content) < DATA_BLOB_MIN_CHARS:
            continue
        kind = (script.get("type") or "").strip().lower()
        if kind == "application/json" or script.get("id") in ("__NEXT_DATA__", "__NUXT_DATA__"):
            return True
        if any(marker in content[:400] for marker in DATA_BLOB_MARKERS):
            return True
    return False


def _has_empty_app_root(tree: lxml.html.HtmlElement) -> bool:
    for root_id in APP_ROOT_IDS:
        for el in tree.xpath("//body//*[@id=$root_id]", root_id=root_id):
            if len(el.text_content().strip()) < 40:
                return True
    return bool(tree.xpath("//body//app-root[not(normalize-space())]"))


@lru_cache(maxsize=16)  # pure memo: compiling CSS to XPath costs more than most pages' drop pass
def _compiled_selectors(selectors: tuple[str, ...]) -> tuple[CSSSelector, ...]:
    return tuple(CSSSelector(selector, translator="html") for selector in selectors)


def _drop_elements(tree: lxml.html.HtmlElement, selectors: tuple[str, ...]) -> None:
    for selector in _compiled_selectors(tuple(selectors)):
        for el in selector(tree):
            if el.getparent() is not None:
                el.drop_tree()


# A short line that is mostly link text ("Archive: June 2024", "Read more: …", "Tags: a, b") is
# navigation wherever it stands; trafilatura keeps such lines when they sit beside the article.
LINK_LINE_MAX_WORDS = 12
LINK_LINE_MIN_LINK_SHARE = 0.5


def _drop_link_lines(tree: lxml.html.HtmlElement) -> None:
    for element in list(tree.iter("p", "li", "dd", "dt")):
        if element.getparent() is None:
            continue
        text = " ".join(element.text_content().split())
        if not text or len(text.split()) > LINK_LINE_MAX_WORDS:
            continue
        link_chars = sum(len(" ".join(link.text_content().split())) for link in element.iter("a"))
        if link_chars and link_chars >= LINK_LINE_MIN_LINK_SHARE * len(text):
            element.drop_tree()


def _article_text(document: Any, title: str | None) -> str:
    body = getattr(document, "body", None)
    if body is None:
        return ""
    blocks: list[str] = []
    for child in body:
        block = xmltotxt(child, False).strip()
        lines = [line for line in block.split("\n") if not _is_widget_line(line)]
        block = "\n".join(lines).strip()
        if block:
            blocks.append(block)
    if blocks and title and _normalise(blocks[0]) == _normalise(title):
        blocks = blocks[1:]
    return "\n\n".join(blocks)


def _is_widget_line(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) < 200 and any(p.search(stripped) for p in WIDGET_LINE_PATTERNS)


def _text_lengths(tree: lxml.html.HtmlElement) -> tuple[int, int]:
    def total(pieces: Iterable[str]) -> int:
        return sum(len(" ".join(piece.split())) for piece in pieces)

    return total(VISIBLE_TEXT(tree)), total(LINK_TEXT(tree))


def _visible_lines(tree: lxml.html.HtmlElement) -> Iterator[str]:
    for piece in VISIBLE_TEXT(tree):
        if piece.strip():
            yield piece.strip()


def _publisher_name(article_ld: dict[str, Any]) -> str | None:
    publisher = article_ld.get("publisher")
    return publisher.get("name") if isinstance(publisher, dict) else None


def _published_at(
    tree: lxml.html.HtmlElement, article_ld: dict[str, Any], meta: _Meta, trafilatura_date: str | None
) -> str | None:
    explicit = _first_timestamp(
        [
            article_ld.get("datePublished"),
            meta.get("article:published_time"),
            meta.get("og:published_time"),
            meta.get("itemprop:datePublished"),
            *tree.xpath("//time[@itemprop='datePublished' or @pubdate]/@datetime"),
        ]
    )
    if explicit:
        return explicit
    # A bare <time> is trusted only when it agrees with trafilatura's date (or there is none):
    # pages also carry <time>s for "today", comments and related stories.
    first_time = _first_timestamp(tree.xpath("(//article//time[@datetime] | //time[@datetime])[1]/@datetime"))
    if first_time and (not trafilatura_date or first_time.startswith(trafilatura_date)):
        return first_time
    return trafilatura_date or None


def _first_timestamp(candidates: Iterable[Any]) -> str | None:
    for candidate in candidates:
        normalised = _iso_timestamp(candidate)
        if normalised:
            return normalised
    return None


def _iso_timestamp(value: Any) -> str | None:
    """ISO 8601 with time and offset when the source has them; date only otherwise."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        match = re.match(r"^(\d{4}-\d{2}-\d{2})", raw)
        return match.group(1) if match else None
    if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", raw):
        return parsed.date().isoformat()
    return parsed.isoformat()


def _language(tree: lxml.html.HtmlElement, meta: _Meta, trafilatura_language: str | None) -> str | None:
    candidates = [
        trafilatura_language,
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        meta.get("content-language"),
        meta.get("og:locale"),
    ]
    for candidate in candidates:
        if candidate and candidate.strip():
            return candidate.strip().replace("_", "-")
    return None


def _link_href(tree: lxml.html.HtmlElement, rel: str) -> str | None:
    for link in tree.iter("link"):
        if rel in (link.get("rel") or "").lower().split() and link.get("href"):
            return link.get("href").strip()
    return None


def _is_amp(tree: lxml.html.HtmlElement) -> bool:
    return any(attribute in tree.attrib for attribute in ("amp", "⚡"))


def _absolute(base: str, href: str | None) -> str | None:
    return urljoin(base, href.strip()) if href and href.strip() else None


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return _as_strings(value)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _as_strings(value: Any) -> list[str]:
    return [item.strip() for item in _as_list(value) if isinstance(item, str) and item.strip()]


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        value = " ".join(value.split())
        if value and value.lower() not in seen:
            seen[value.lower()] = value
    return list(seen.values())


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _normalise(value: str) -> str:
    return re.sub(r"\W+", " ", value).strip().lower()


# --- authors ---------------------------------------------------------------------------------------

ORGANIZATION_TYPES = frozenset(
    {"Organization", "NewsMediaOrganization", "Corporation", "GovernmentOrganization", "EducationalOrganization"}
)
# <meta> names that carry a byline, in order of trust. Dublin Core / citation metas write "Last, First".
AUTHOR_META_KEYS = (
    "author",
    "article:author",
    "itemprop:author",
    "parsely-author",
    "sailthru.author",
    "cxenseparse:author",
    "byl",
)
INVERTED_AUTHOR_META_KEYS = ("dc.creator", "citation_author")
# Byline elements of themes: rel=author links, itemprop=author, class "author" / "byline" (hCard ".fn" inside).
# A cheap substring pre-filter in XPath; the class tokens are checked in Python.
BYLINE_XPATH = etree.XPath(
    "//*[@rel='author' or @itemprop='author' or contains(@class, 'author') or contains(@class, 'byline')]"
)
BYLINE_CLASSES = frozenset({"author", "byline", "fn"})
BYLINE_MAX_CHARS = 120
BYLINE_PREFIX_RE = re.compile(
    r"^\s*(?:(?:written|reported|text|words|story)\s+)?(?:by|von|por|par|door|di|da|av|af|autor|autorin|author|"
    r"autor/in|text|texto|reporter)\b\s*[:.]?\s*",
    re.I,
)
NAME_JOINER_RE = re.compile(r"\s*(?:,|;|\s&\s|\sand\s|\sund\s|\sy\s|\se\s|\set\s|\sen\s|\sog\s|\soch\s)\s*", re.I)
MAX_NAME_WORDS = 5


def _with_main_entities(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The objects, each followed by its ``mainEntity`` (WebPage → NewsArticle nesting)."""
    for obj in objects:
        yield obj
        for entity in _as_list(obj.get("mainEntity")):
            if isinstance(entity, dict):
                yield entity


def _ld_person(value: Any, by_id: dict[str, dict[str, Any]]) -> tuple[str, bool]:
    """(name, is_organisation) of a JSON-LD author: a string, a Person/Organization or an ``@id`` reference."""
    if isinstance(value, str):
        return value, False
    if not isinstance(value, dict):
        return "", False
    if isinstance(value.get("@id"), str) and value["@id"] in by_id:
        value = {**by_id[value["@id"]], **{k: v for k, v in value.items() if v not in (None, "", [])}}
    is_org = bool(ORGANIZATION_TYPES & set(_types_of(value)))
    name = _clean(value.get("name")) or _clean(value.get("byline"))
    if not name:
        name = " ".join(part for part in (_clean(value.get("givenName")), _clean(value.get("familyName"))) if part)
    return name or "", is_org


def _authors(
    article_ld: dict[str, Any],
    by_id: dict[str, dict[str, Any]],
    meta: _Meta,
    trafilatura_author: str | None,
    bylines: list[str],
    site_names: list[str],
    host: tuple[str, ...],
) -> list[str]:
    """People credited with the article; the publisher only when the page names nobody else.

    Sources in order, the first that yields a person wins: JSON-LD authors (``@id`` references
    resolved, ``givenName``/``familyName``, ``byline``), byline ``<meta>`` tags, trafilatura's
    author, the theme's byline markup (``rel=author``, ``.author .fn``). Names that are the site
    itself (its name, host or initials) are not people; an Organization author is the last resort.
    """
    people: list[str] = []
    organisations: list[list[str]] = [[]]
    for author in _as_list(article_ld.get("author")):
        for item in _as_list(author):
            name, is_org = _ld_person(item, by_id)
            (organisations[0] if is_org else people).append(name)

    def persons(names: Iterable[str]) -> list[str]:
        found, sited = [], []
        for raw in names:
            for name in _split_names(raw):
                (sited if _is_site_like(name, site_names, host) else found).append(name)
        organisations.append(sited)
        return _unique(found)

    found = persons(people)
    if not found:
        found = persons(value for key in AUTHOR_META_KEYS for value in meta.getall(key))
    if not found:
        found = persons(_inverted_name(value) for key in INVERTED_AUTHOR_META_KEYS for value in meta.getall(key))
    if not found and trafilatura_author:
        found = persons(trafilatura_author.split(";"))
    if not found:
        found = persons(bylines)
    if not found:
        # Nobody named: the organisation credited first (JSON-LD Organization, then site-like bylines).
        group = next((group for group in organisations if any(group)), [])
        found = _unique(name for raw in group for name in _split_names(raw))
    return found


def _byline_texts(tree: lxml.html.HtmlElement) -> list[str]:
    """Texts of the theme's byline elements (``rel=author``, ``.author .fn``, ``.byline``), short ones only."""
    texts = []
    for el in BYLINE_XPATH(tree):
        if not (
            el.get("rel") == "author"
            or el.get("itemprop") == "author"
            or BYLINE_CLASSES & set((el.get("class") or "").split())
        ):
            continue
        text = " ".join(el.text_content().split())
        if text and len(text) <= BYLINE_MAX_CHARS:
            texts.append(text)
            if len(texts) >= 6:
                break
    return texts


def _inverted_name(value: str) -> str:
    """'Last, First' (Dublin Core, citation metas) → 'First Last'; anything else unchanged."""
    parts = [part.strip() for part in value.split(",")]
    if len(parts) == 2 and all(parts) and all(len(part.split()) <= 3 for part in parts):
        return f"{parts[1]} {parts[0]}"
    return value


def _split_names(raw: str) -> list[str]:
    """One byline string → names: prefixes ("By ", "Von ") off, "A, B and C" split, roles dropped."""
    raw = " ".join((raw or "").split())
    if not raw or raw.startswith(("http://", "https://", "www.")) or "@" in raw:
        return []
    raw = BYLINE_PREFIX_RE.sub("", raw).strip()
    names = []
    for part in NAME_JOINER_RE.split(raw):
        part = BYLINE_PREFIX_RE.sub("", part).strip(" .:|-–—")
        if not part:
            continue
        if not _looks_like_name(part):
            # "Jane Doe, professor of history at X": a role or place after the name ends the list.
            if names:
                break
            continue
        names.append(part)
    return names


def _looks_like_name(part: str) -> bool:
    words = part.split()
    if len(words) > MAX_NAME_WORDS:
        return False
    # Latin-script names are capitalised words (particles such as "van", "de", "bin" aside).
    lowercase = [w for w in words if w[:1].isalpha() and w[:1].islower() and len(w) > 3]
    return len(lowercase) <= 1


# --- site name and titles ----------------------------------------------------------------------------

TITLE_SEPARATOR_RE = re.compile(r"\s+[|\-–—·•*»/]\s+|\s*[|｜：]\s*|\s+::\s+")
DATE_SEGMENT_RE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$|^\d{4}-\d{2}-\d{2}")
STOP_HOST_LABELS = frozenset({"www", "com", "net", "org", "co", "news", "m", "amp", "edition"})


def _hosts(url: str, tree: lxml.html.HtmlElement, meta: _Meta) -> tuple[str, ...]:
    """Host names of the page: where it was fetched and where it says it lives (canonical, og:url).

    A page served from a mirror, a proxy or a local copy still names its site by its canonical host.
    """
    hosts = []
    for address in (url, _link_href(tree, "canonical"), meta.get("og:url")):
        try:
            host = (urlsplit(address or "").hostname or "").lower()
        except ValueError:
            continue
        if host and not re.fullmatch(r"[\d.:]+|localhost", host) and host not in hosts:
            hosts.append(host)
    return tuple(hosts)


def _site_names(
    meta: _Meta, objects: list[dict[str, Any]], article_ld: dict[str, Any], by_id: dict[str, dict[str, Any]]
) -> list[str]:
    names = [
        *meta.getall("og:site_name"),
        *meta.getall("application-name"),
        *meta.getall("apple-mobile-web-app-title"),
        *meta.getall("twitter:site"),
    ]
    publisher = article_ld.get("publisher")
    if isinstance(publisher, dict):
        names.append(_ld_person(publisher, by_id)[0])
    for obj in objects:
        if {"WebSite", "NewsMediaOrganization"} & set(_types_of(obj)):
            names.extend(_as_strings(obj.get("name")))
    return [name for name in (_clean(n) for n in names) if name]


def _key(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def _is_site_like(value: str, site_names: list[str], hosts: tuple[str, ...]) -> bool:
    """Whether ``value`` names the site: its declared name, its host, or their initials, loosely."""
    key = _key(value)
    if len(key) < 2:
        return False
    domains = [host.removeprefix("www.") for host in hosts if host]
    labels = [_key(label) for domain in domains for label in domain.split(".") if label not in STOP_HOST_LABELS]
    host_keys = {label for label in labels if len(label) >= 2} | {_key(domain) for domain in domains}
    site_keys = {_key(name.lstrip("@")) for name in site_names} - {""}
    if key in host_keys or key in site_keys:
        return True
    words = re.findall(r"\w+", value)
    initials = "".join(word[0] for word in words).casefold() if len(words) > 1 else ""
    if initials and initials in host_keys:
        return True
    # Whole leading/trailing words that are the site: "NTV Haber" (site NTV), "Die Neue Südtiroler
    # Tageszeitung" on tageszeitung.it. A short host label ("time") must match exactly: "Time to act" is no site.
    loose_keys = {k for k in site_keys if len(k) >= 2} | {k for k in host_keys if len(k) >= 5}
    if len(words) <= 5:
        for size in range(1, len(words)):
            if _key(" ".join(words[:size])) in loose_keys or _key(" ".join(words[-size:])) in loose_keys:
                return True
    return any(domain in value.lower() for domain in domains)


def _title_candidates(tree: lxml.html.HtmlElement, meta: _Meta, article_ld: dict[str, Any]) -> list[str]:
    h1 = next((text for text in (_clean(h.text_content()) for h in tree.iter("h1")) if text), None)
    headline = article_ld.get("headline")
    candidates = [
        _clean(html_unescape(headline)) if isinstance(headline, str) else None,
        meta.get("og:title"),
        meta.get("twitter:title"),
        h1,
        _clean(tree.findtext(".//title")),
    ]
    return [c for c in candidates if c]


def _best_title(first: str | None, candidates: list[str], site_names: list[str], host: tuple[str, ...]) -> str | None:
    """The first title candidate with site name, dates and decorations other candidates lack cut off."""
    ordered = [c for c in [first, *candidates] if c]
    if not ordered:
        return None
    title = _strip_site_segments(ordered[0], site_names, host)
    return _cut_to_other_candidate(title, ordered[1:]) or title


def _strip_site_segments(title: str, site_names: list[str], host: tuple[str, ...]) -> str:
    """Drop trailing segments that are the site's name, a date or "by Author" after the site name."""
    pieces = TITLE_SEPARATOR_RE.split(title)
    if len(pieces) < 2:
        return title
    positions = [m.start() for m in TITLE_SEPARATOR_RE.finditer(title)]
    for index in range(1, len(pieces)):
        tail = pieces[index:]
        joined = " ".join(tail)
        if _is_site_like(joined, site_names, host) or (
            _is_site_like(tail[0], site_names, host)
            and all(
                DATE_SEGMENT_RE.match(p) or re.match(r"^(by|von|por)\s", p, re.I) or _is_site_like(p, site_names, host)
                for p in tail[1:]
            )
        ):
            return title[: positions[index - 1]].strip() or title
        if all(DATE_SEGMENT_RE.match(p) for p in tail):
            return title[: positions[index - 1]].strip() or title
    if _is_site_like(pieces[0], site_names, host):
        return title[title.find(pieces[1], len(pieces[0])) :].strip() or title
    return title


def _cut_to_other_candidate(title: str, others: list[str]) -> str | None:
    """When another candidate is this title minus a decorated segment (" | Section", "Kicker | "), that one."""
    norm_title = _normalise(title)
    for other in others:
        norm_other = _normalise(other)
        if not norm_other or norm_other == norm_title or len(norm_other) < 0.4 * len(norm_title):
            continue
        for match in TITLE_SEPARATOR_RE.finditer(title):
            if _normalise(title[: match.start()]) == norm_other:
                return title[: match.start()].strip()
            if match.group().strip() in ("|", "｜") and _normalise(title[match.end() :]) == norm_other:
                return title[match.end() :].strip()
    return None
