"""Is this a JavaScript shell or a placeholder? Markers a page shows when its text is not in the
HTML: an empty app root, a big data blob for scripts (``__NEXT_DATA__``, a Next.js App Router
stream), "Loading…", "enable JavaScript", "coming soon". The threshold (``min_text_chars``) is the
caller's (the ``EXTRACT_MIN_TEXT_CHARS`` setting).
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

APP_ROOT_IDS = ("root", "app", "__next", "__nuxt", "___gatsby", "app-root", "svelte", "main-app")
LOADING_RE = re.compile(r"^\s*(loading|please wait)\s*(…|\.\.\.)?\s*$", re.I)
# A text with a loading line on a page with script data is a shell up to this many times the
# least article text (EXTRACT_MIN_TEXT_CHARS): a real article with a stray "Loading…" is longer.
SHELL_TEXT_CHARS = 3
ENABLE_JS_RE = re.compile(r"enable\s+javascript|javascript\s+(is\s+)?(required|disabled)", re.I)
PLACEHOLDER_RE = re.compile(
    r"lorem ipsum|coming soon|under construction|page not found|\b404\b|"
    r"this (page|content|article) (is|has been) (not available|unavailable|removed|deleted)|"
    r"no longer available|this domain (is|may be) for sale|default web page|it works!",
    re.I,
)

DATA_BLOB_MIN_CHARS = 1000
DATA_BLOB_MARKERS = ("__INITIAL_STATE__", "__PRELOADED_STATE__", "__APOLLO_STATE__", "__NUXT__")
NEXT_STREAM_MARKER = "self.__next_f.push"


def has_data_blob(tree: lxml.html.HtmlElement) -> bool:
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


# Elements with an id, then the id looked up in Python: an XPath comparing every element's id with
# each of the eight names cost ~4 ms on a large page.
ID_ELEMENTS = etree.XPath("//body/descendant::*[@id] | //body/descendant::app-root")


def has_empty_app_root(tree: lxml.html.HtmlElement) -> bool:
    """An element a script framework mounts into (``#root``, ``#__next``, ``<app-root>``…) with almost no text."""
    for el in ID_ELEMENTS(tree):
        if el.tag == "app-root":
            if not el.text_content().strip():
                return True
        elif el.get("id") in APP_ROOT_IDS and len(el.text_content().strip()) < 40:
            return True
    return False
