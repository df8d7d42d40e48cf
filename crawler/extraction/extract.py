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
list items) is a single ``"\\n"``. The headline (nor kicker, byline, date line) is not repeated at the
top of ``text``; the standfirst, when the page shows one, is its first block (see
:mod:`crawler.extraction.text`, :mod:`crawler.extraction.text_lines`, :mod:`crawler.extraction.standfirst`).

On a page that cannot be parsed the function does not raise: it returns the usual keys with empty
values plus an ``error`` key naming the failure. The ``error`` key is absent on success. The parser
takes a page of any size the download allows (lxml's ``huge_tree``) and nests at most
``HTML_MAX_DEPTH`` elements deep; a page past that whose text is lost says so in ``error``.
"""

from __future__ import annotations

from typing import Any

import lxml.html
from lxml import etree
from trafilatura import bare_extraction

from crawler.extraction.authors import authors, byline_texts, signature_lines
from crawler.extraction.dates import first_timestamp, published_at
from crawler.extraction.fields import DEFAULT_DROP_SELECTORS, empty_fields, failed_fields
from crawler.extraction.jsonld import (
    ARTICLE_JSONLD_TYPES,
    jsonld_entities,
    main_articles,
    types_of,
    with_main_entities,
)
from crawler.extraction.language import detect_language, resolve_language
from crawler.extraction.page import (
    XML_DECLARATION_RE,
    Meta,
    absolute,
    as_strings,
    clean,
    decode_html,
    keywords,
    link_href,
    meta_values,
    unique,
)
from crawler.extraction.shell import (
    ENABLE_JS_RE,
    LOADING_RE,
    PLACEHOLDER_RE,
    SHELL_TEXT_CHARS,
    has_data_blob,
    has_empty_app_root,
)
from crawler.extraction.site import hosts, site_name, site_names
from crawler.extraction.standfirst import outline
from crawler.extraction.syndication import take_syndication_note
from crawler.extraction.text import (
    article_text,
    drop_elements,
    drop_link_lines,
    drop_non_body,
    finished_text,
    text_lengths,
    visible_lines,
)
from crawler.extraction.titles import best_title, title_candidates, visible_headlines

__all__ = [
    "ARTICLE_JSONLD_TYPES",
    "DEFAULT_DROP_SELECTORS",
    "decode_html",
    "empty_fields",
    "extract_page",
    "failed_fields",
]

MIN_PARAGRAPH_WORDS = 20


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
    # Browsers drop NUL characters from a page (the HTML spec ignores them in the body); lxml would
    # put a U+FFFD in the middle of the word instead.
    html = html.replace("\x00", "")
    if not html.strip():
        return failed_fields(f"empty HTML body for {url}")
    parser = lxml.html.HTMLParser(huge_tree=True)  # see HTML_MAX_DEPTH; its own, for its error log
    tree = lxml.html.document_fromstring(html, parser=parser)
    depth_limited = _depth_limited(parser)
    # The passes below walk the page a dozen times. lxml builds a Python proxy for an element each time
    # a walk reaches it unless one is alive (lxml.html picks its class in Python: ~1 µs an element);
    # holding them all for this call makes every later walk reuse them.
    elements = list(tree.iter())
    links = sum(1 for element in elements if element.tag == "a")
    if links > MAX_ARTICLE_LINKS:
        # trafilatura's passes are quadratic in such a page (100,000 links: ~100 s of a worker).
        return failed_fields(
            f"the page has {links:,} links, more than any article page ({MAX_ARTICLE_LINKS:,}): a link dump, "
            "not read for article text"
        )

    # Read everything that lives in <head>, <script> and <noscript> before boilerplate is dropped.
    meta = meta_values(tree)
    entities = list(jsonld_entities(tree))
    jsonld_objects = [obj for obj, _ in entities]
    jsonld_types = [t for obj in jsonld_objects for t in types_of(obj)]
    main_count = main_articles(entities)
    jsonld_by_id = {obj["@id"]: obj for obj in jsonld_objects if isinstance(obj.get("@id"), str)}
    article_ld = next(
        (obj for obj in with_main_entities(jsonld_objects) if ARTICLE_JSONLD_TYPES & set(types_of(obj))), {}
    )
    names = site_names(meta, jsonld_objects, article_ld, jsonld_by_id)
    host = hosts(url, tree, meta)
    titles = title_candidates(tree, meta, article_ld)
    headlines = visible_headlines(tree)
    bylines = byline_texts(tree)  # before trafilatura, which prunes the tree in place
    signatures = signature_lines(tree)
    noscript_text = " ".join(" ".join(el.itertext()) for el in tree.iter("noscript"))
    empty_app_root = has_empty_app_root(tree)
    data_blob = has_data_blob(tree)

    # Before trafilatura, which would keep the note in the text or drop its link.
    syndicated_from = take_syndication_note(tree, url)
    drop_elements(tree, drop_selectors)
    drop_link_lines(tree)
    # <noscript> holds "enable JavaScript" notices and tracking pixels, never the article.
    for el in list(tree.iter("noscript")):
        el.drop_tree()
    drop_non_body(tree)
    # Where text stands, and the standfirst, before trafilatura prunes the tree in place.
    page_outline = outline(
        tree,
        [
            meta.get("og:description"),
            meta.get("description"),
            meta.get("twitter:description"),
            _text_of(article_ld.get("description")),
        ],
    )

    document = bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
    )
    title = best_title(clean(getattr(document, "title", None)), titles, names, host, headlines)
    text = article_text(document, title)
    names_of_authors = authors(
        article_ld, jsonld_by_id, meta, getattr(document, "author", None), bylines, names, host, signatures
    )
    text = finished_text(text, page_outline, [*titles.values(), *([title] if title else [])], names_of_authors, title)

    visible_chars, link_chars = text_lengths(tree)
    short = len(text) < min_text_chars
    app_shell = short and (
        empty_app_root
        or data_blob
        or any(LOADING_RE.match(line) for line in visible_lines(tree))
        or bool(ENABLE_JS_RE.search(noscript_text))
    )
    # A shell whose chrome (masthead, tagline, headline, dateline) reaches the length of a short
    # article still says "Loading…" in its text, and has the data or the empty root a script fills.
    app_shell = app_shell or (
        len(text) < SHELL_TEXT_CHARS * min_text_chars
        and any(LOADING_RE.match(line) for line in text.splitlines())
        and (empty_app_root or data_blob or bool(ENABLE_JS_RE.search(noscript_text)))
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
            "authors": names_of_authors,
            "published_at": published_at(tree, article_ld, meta, getattr(document, "date", None)),
            "modified_at": first_timestamp(
                [
                    article_ld.get("dateModified"),
                    meta.get("article:modified_time"),
                    meta.get("og:updated_time"),
                    meta.get("itemprop:dateModified"),
                ]
            ),
            "language": _language(tree, meta, getattr(document, "language", None)),
            "description": clean(getattr(document, "description", None)) or meta.get("og:description"),
            "site_name": site_name(
                meta, article_ld, names, getattr(document, "sitename", None), [title or "", *titles.values()], host
            ),
            "categories": unique(
                [
                    *(getattr(document, "categories", None) or []),
                    *as_strings(article_ld.get("articleSection")),
                    *meta.getall("article:section"),
                ]
            ),
            "tags": unique(
                [
                    *(getattr(document, "tags", None) or []),
                    *meta.getall("article:tag"),
                    *keywords(article_ld.get("keywords")),
                ]
            ),
            "image": absolute(url, getattr(document, "image", None) or meta.get("og:image")),
            "canonical_url": absolute(url, link_href(tree, "canonical") or meta.get("og:url")),
            "amp_url": absolute(url, link_href(tree, "amphtml")),
            "is_amp": _is_amp(tree),
            "syndicated_from": syndicated_from,
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
        "jsonld_main_articles": main_count,
        "link_density": round(link_chars / visible_chars, 4) if visible_chars else 0.0,
        "article_elements": sum(1 for _ in tree.iter("article")),
        "paragraphs": sum(1 for p in tree.iter("p") if len(p.text_content().split()) >= MIN_PARAGRAPH_WORDS),
        "text_chars": len(text),
        "app_shell": app_shell,
        "placeholder": placeholder,
        "noindex": "noindex" in (meta.get("robots") or "").lower(),
    }
    if not text and depth_limited and not app_shell:
        fields["error"] = (
            f"the page nests elements more than {HTML_MAX_DEPTH:,} deep, where the HTML parser stops: "
            "only what comes before was read, and it holds no article text"
        )
    del elements  # held to here on purpose (see above)
    return fields


# Real article pages have hundreds of links, big portal fronts a few thousand; more is a link dump
# (a hostile or broken page), whose text is never an article.
MAX_ARTICLE_LINKS = 10_000

# libxml2's nesting limit with XML_PARSE_HUGE (lxml's huge_tree): 256 without it, which real pages
# with piles of unclosed tags pass. huge_tree also lifts libxml2's 10 MB limit on one text, comment or
# attribute (a page with a 12 MB inline script lost its article after the script); DOWNLOAD_MAXSIZE
# bounds the page, hence the tree, either way.
HTML_MAX_DEPTH = 2048


def _depth_limited(parser: etree.HTMLParser) -> bool:
    """Whether the parser stopped at its nesting limit (``<div>`` 100,000 deep, or a page whose
    unclosed tags pile up): the rest of the page is missing from the tree, and says so nowhere else."""
    return any(entry.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT for entry in parser.error_log)


def _language(tree: lxml.html.HtmlElement, meta: Meta, trafilatura_language: str | None) -> str | None:
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


def _text_of(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _is_amp(tree: lxml.html.HtmlElement) -> bool:
    return any(attribute in tree.attrib for attribute in ("amp", "⚡"))
