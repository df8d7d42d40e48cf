"""The language of an article: what the page declares, checked against what its text is.

Pages often declare a site-wide language (``<html lang="en">`` on a site that also publishes in
isiZulu or Swahili) or none at all. :func:`detect_language` identifies the language of the
extracted text offline with py3langid (a maintained, BSD-licensed fork of langid.py; its model
is memory-mapped from a cache folder on first use, one copy for all workers: crawler.extraction.langid_model); :func:`resolve_language` keeps the declared
language when the text agrees, or when the detection is unsure or names a close neighbour (the
Scandinavian languages, Serbo-Croatian, Malay/Indonesian, Czech/Slovak, the Ibero-Romance
languages), and takes the detected one when nothing was declared or the text is clearly in
another language. The archive stores all three (``language``, ``language_declared``,
``language_detected``). No settings drive this module.
"""

from __future__ import annotations

import functools
from typing import Any

# Only this much text is read: enough for a sure answer, and cheap (about 0.3 ms a page).
SAMPLE_CHARS = 2000
MIN_TEXT_CHARS = 200
# A detection this sure overrides a declared language of another group.
SURE = 0.9
CLOSE_LANGUAGES: tuple[frozenset[str], ...] = (
    frozenset({"no", "nb", "nn", "da", "sv"}),
    frozenset({"hr", "sr", "bs", "sl", "me"}),
    frozenset({"id", "ms"}),
    frozenset({"cs", "sk"}),
    frozenset({"es", "gl", "ca", "pt", "an", "ast"}),
    frozenset({"hi", "ur", "ne", "mr"}),
    frozenset({"zh", "ja", "ko"}),  # a Japanese page full of kanji can read as Chinese
    frozenset({"af", "nl"}),
    frozenset({"be", "ru", "uk"}),
)


@functools.cache
def _identifier() -> Any:
    from crawler.extraction.langid_model import load_identifier

    return load_identifier(norm_probs=True)


def detect_language(text: str | None) -> tuple[str | None, float]:
    """(ISO 639-1 code, probability) of the text's language; (None, 0.0) for too little text."""
    sample = (text or "")[:SAMPLE_CHARS]
    if len(sample.strip()) < MIN_TEXT_CHARS:
        return None, 0.0
    code, probability = _identifier().classify(sample)
    return str(code), float(probability)


def primary_subtag(code: str | None) -> str | None:
    return code.split("-")[0].strip().lower() or None if code else None


def _close(first: str, second: str) -> bool:
    return any(first in group and second in group for group in CLOSE_LANGUAGES)


def resolve_language(declared: str | None, detected: str | None, probability: float) -> str | None:
    """The article's language: the declared one unless the text is clearly in another language."""
    declared_primary = primary_subtag(declared)
    if detected is None or declared_primary == detected:
        return declared or detected
    if declared_primary is None:
        return detected
    if probability >= SURE and not _close(declared_primary, detected):
        return detected
    return declared
