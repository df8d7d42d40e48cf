"""Labelled fields of an article's metadata box: ``<li><strong>Datum</strong> 28.04.2023</li>``,
``<dt>Author</dt><dd>Jane Doe</dd>``, ``<span>Published:</span> 3 May 2024``. Older CMS themes
print the article's date and author this way instead of in ``<meta>`` or JSON-LD. No settings
drive this module.
"""

from __future__ import annotations

import re

import lxml.html

from crawler.extraction.page import clean

# Elements that hold a field's label; its value follows in the same parent (or the next <dd>/<td>).
LABEL_TAGS = ("strong", "b", "dt", "th", "label", "span")
MAX_LABEL_CHARS = 40
MAX_VALUE_CHARS = 120


def labelled_values(tree: lxml.html.HtmlElement, label_re: re.Pattern[str], in_paragraphs: bool = True) -> list[str]:
    """Values of the fields whose label matches ``label_re`` (a full match of the label, colon aside),
    in document order. ``in_paragraphs=False`` leaves out fields written as a paragraph of the text
    ("<p><strong>Date:</strong> 12.05.2024</p>" in an event's info box)."""
    values = []
    for label in tree.iter(*LABEL_TAGS):
        text = clean(label.text_content())
        if not text or len(text) > MAX_LABEL_CHARS or not label_re.fullmatch(text.rstrip(": ").strip()):
            continue
        if not in_paragraphs and any(el.tag == "p" for el in label.iterancestors()):
            continue
        value = field_value(label, text)
        if value and len(value) <= MAX_VALUE_CHARS:
            values.append(value)
    return values


def field_value(label: lxml.html.HtmlElement, text: str) -> str | None:
    if label.tag in ("dt", "th"):
        following = label.getnext()
        return clean(following.text_content()) if following is not None else None
    parent = label.getparent()
    if parent is None:
        return None
    whole = clean(parent.text_content()) or ""
    # The label opens its parent ("<li><strong>Datum</strong> 28.04.2023</li>"); anything else is prose.
    if not whole.startswith(text):
        return None
    return whole[len(text) :].lstrip(" :").strip() or None
