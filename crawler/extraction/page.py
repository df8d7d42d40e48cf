"""Reading a parsed page: decoding the body the way Scrapy does, ``<meta>`` values, ``<link>``
hrefs, and the small string helpers every field reader shares. No settings drive this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import lxml.html
from w3lib.encoding import html_to_unicode, http_content_type_encoding, resolve_encoding

XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


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


class Meta(dict[str, list[str]]):
    """``<meta>`` values by lower-cased name/property (``itemprop:`` prefixed for microdata)."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        values = super().get(key)
        return values[0] if values else default

    def getall(self, key: str) -> list[str]:
        return list(super().get(key, []))


def meta_values(tree: lxml.html.HtmlElement) -> Meta:
    values = Meta()
    for el in tree.iter("meta"):
        content = clean(el.get("content"))
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


def link_href(tree: lxml.html.HtmlElement, rel: str) -> str | None:
    for link in tree.iter("link"):
        if rel in (link.get("rel") or "").lower().split() and link.get("href"):
            return link.get("href").strip()
    return None


def absolute(base: str, href: str | None) -> str | None:
    return urljoin(base, href.strip()) if href and href.strip() else None


def keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return as_strings(value)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def as_strings(value: Any) -> list[str]:
    return [item.strip() for item in as_list(value) if isinstance(item, str) and item.strip()]


def unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        value = " ".join(value.split())
        if value and value.lower() not in seen:
            seen[value.lower()] = value
    return list(seen.values())


def clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def normalise(value: str) -> str:
    return re.sub(r"\W+", " ", value).strip().lower()


# --- authors ---------------------------------------------------------------------------------------
