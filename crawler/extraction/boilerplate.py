"""Site-level boilerplate: lines that repeat across many articles of one source, learned and removed.

Templates put lines into the article body that no selector list can know: "Support independent
journalism", "© 2024 The Courier. All rights reserved.", "Got a news tip? Email …", "Advertisement".
:class:`SiteBoilerplate` counts, per source, on how many distinct articles each line appears (lines
are keyed by :func:`line_key`: case, whitespace and digits folded, so "© 2024" and "© 2025" are one
line) and removes the lines that appear on a large share of them.

Counting is bounded whatever the archive's size: lossy counting (Manku & Motwani) keeps only lines
that keep recurring, so memory grows with the number of template lines, not of articles; counts
are halved every ``WINDOW_PAGES`` articles, so shares follow the source's current templates. The
counts are persisted in the archive (``boilerplate_lines``, ``boilerplate_sources``) by
``pipelines/boilerplate.py``, so a source's template is known from the first page of its next run,
and articles stored early in the run that taught it are cleaned again when the run ends.

Safeguards, because a line that repeats is not always a template's:
- nothing is removed before ``min_pages`` distinct articles of the source were seen (a short
  source, or the first pages of a new one, teaches too little);
- a learned line inside the text (not in the run of lines that opens or closes it) is removed only
  when it is short (``MIDDLE_MAX_WORDS``): a long paragraph that recurs mid-article is more likely
  a running story's background paragraph than a template;
- when the learned lines would take more than ``MAX_REMOVED_SHARE`` of a text, the text is kept
  whole: the page is not like the ones the source taught (a syndicated copy, a digest).

Settings (``BOILERPLATE_*``, passed in by the pipeline): ``min_pages`` and ``min_share`` (a line is
boilerplate once it appeared on at least ``min_share`` of the source's articles, and on at least
``MIN_LINE_PAGES`` of them).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

# A line must have been seen on this many distinct articles to be boilerplate, whatever the share.
MIN_LINE_PAGES = 3
# Learned lines inside the text (not leading or trailing it) are removed only up to this length.
MIDDLE_MAX_WORDS = 25
# Never remove more than this share of a text's characters: above it the page is kept whole.
MAX_REMOVED_SHARE = 0.5
# Lossy counting: every BUCKET_PAGES articles, lines seen too rarely to matter are forgotten.
BUCKET_PAGES = 50
# Shares are over about this many recent articles (counts are halved when twice as many were seen).
WINDOW_PAGES = 500
# Lines longer than this are not counted (a paragraph repeated whole is a duplicate, not a template).
MAX_LINE_CHARS = 600
# Lines persisted: those seen on at least this many articles.
MIN_PERSISTED_PAGES = 2

_DIGITS = re.compile(r"\d+")


def line_key(line: str) -> str:
    """The form lines are compared in: case-folded, whitespace collapsed, digit runs as one ``0``."""
    return _DIGITS.sub("0", " ".join(line.split()).casefold())


def line_fingerprint(line: str) -> str:
    """A short stable hash of :func:`line_key` (16 hex digits), the key the archive stores."""
    return hashlib.blake2b(line_key(line).encode("utf-8"), digest_size=8).hexdigest()


def text_lines(text: str) -> Iterator[str]:
    """The non-empty lines of an extracted text (blocks are separated by blank lines)."""
    for line in text.split("\n"):
        if line.strip():
            yield line.strip()


@dataclass
class _Entry:
    pages: int
    # Lossy counting's error bound for this entry: how many pages it may have missed before it was tracked.
    delta: int
    example: str


@dataclass(frozen=True)
class Cleaned:
    """A text with its learned boilerplate removed, and the lines that were removed."""

    text: str
    removed: tuple[str, ...] = ()


@dataclass
class SiteBoilerplate:
    """Learned boilerplate of one source: line counts over its distinct articles, and the cleaner."""

    min_pages: int = 10
    min_share: float = 0.15
    pages: int = 0
    _entries: dict[str, _Entry] = field(default_factory=dict)

    @classmethod
    def restore(
        cls, pages: int, lines: Iterable[tuple[str, int, str]], *, min_pages: int = 10, min_share: float = 0.15
    ) -> SiteBoilerplate:
        """The state persisted in the archive: pages seen, and (fingerprint, pages, example line) rows."""
        model = cls(min_pages=min_pages, min_share=min_share, pages=pages)
        for fingerprint, count, example in lines:
            model._entries[fingerprint] = _Entry(count, 0, example)
        return model

    def observe(self, text: str) -> None:
        """Count one distinct article's lines (call once per article content, before cleaning)."""
        self.pages += 1
        bucket = self.pages // BUCKET_PAGES + 1
        seen: set[str] = set()
        for line in text_lines(text):
            if len(line) > MAX_LINE_CHARS:
                continue
            fingerprint = line_fingerprint(line)
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
            entry = self._entries.get(fingerprint)
            if entry is None:
                self._entries[fingerprint] = _Entry(1, bucket - 1, line)
            else:
                entry.pages += 1
        if self.pages % BUCKET_PAGES == 0:
            self._entries = {fp: entry for fp, entry in self._entries.items() if entry.pages + entry.delta > bucket}
        if self.pages >= 2 * WINDOW_PAGES:
            self._age()

    def _age(self) -> None:
        """Halve every count: shares follow the source's recent articles, so a new template is
        learned (and an abandoned one forgotten) within a few hundred articles, not a share of years."""
        self.pages //= 2
        for entry in self._entries.values():
            entry.pages //= 2
            entry.delta //= 2
        self._entries = {fp: entry for fp, entry in self._entries.items() if entry.pages > 0}

    def is_boilerplate(self, line: str) -> bool:
        """Whether the line is learned boilerplate of this source (never before ``min_pages`` articles)."""
        if self.pages < self.min_pages:
            return False
        entry = self._entries.get(line_fingerprint(line))
        return entry is not None and entry.pages >= self._threshold()

    def learned(self) -> list[str]:
        """Example text of every line currently judged boilerplate, most frequent first."""
        entries = sorted(self._learned().values(), key=lambda entry: -entry.pages)
        return [entry.example for entry in entries]

    def learned_fingerprints(self) -> list[str]:
        """The :func:`line_fingerprint` of every line currently judged boilerplate (what
        :func:`signature_once_cleaned` needs to clean a text as this model would)."""
        return sorted(self._learned())

    def _learned(self) -> dict[str, _Entry]:
        """The entries currently judged boilerplate, by fingerprint (none before ``min_pages`` articles)."""
        if self.pages < self.min_pages:
            return {}
        threshold = self._threshold()
        return {fingerprint: entry for fingerprint, entry in self._entries.items() if entry.pages >= threshold}

    def _threshold(self) -> float:
        """On how many counted articles a line must stand to be boilerplate."""
        return max(MIN_LINE_PAGES, self.min_share * self.pages)

    def persisted(self) -> list[tuple[str, int, str]]:
        """(fingerprint, pages, example line) of the lines worth keeping for the next run."""
        return [
            (fingerprint, entry.pages, entry.example)
            for fingerprint, entry in self._entries.items()
            if entry.pages >= MIN_PERSISTED_PAGES
        ]

    def clean(self, text: str) -> Cleaned:
        """The text without its learned boilerplate lines (see the module docstring for the safeguards)."""
        if self.pages < self.min_pages or not text:
            return Cleaned(text)
        return remove_lines(text, self.is_boilerplate)


def remove_lines(text: str, is_boilerplate: Callable[[str], bool]) -> Cleaned:
    """Remove the lines ``is_boilerplate`` names: all of those opening or closing the text, short
    ones inside it; nothing when that would take more than ``MAX_REMOVED_SHARE`` of the text."""
    blocks = [block.split("\n") for block in text.split("\n\n")]
    positions = [(b, i) for b, lines in enumerate(blocks) for i, line in enumerate(lines) if line.strip()]
    flags = [is_boilerplate(blocks[b][i]) for b, i in positions]
    if not any(flags):
        return Cleaned(text)
    first_kept = next((n for n, flag in enumerate(flags) if not flag), len(flags))
    last_kept = next((n for n in range(len(flags) - 1, -1, -1) if not flags[n]), -1)
    removed: set[tuple[int, int]] = set()
    for n, ((b, i), flag) in enumerate(zip(positions, flags, strict=True)):
        if not flag:
            continue
        inside = first_kept < n < last_kept
        if not inside or len(blocks[b][i].split()) <= MIDDLE_MAX_WORDS:
            removed.add((b, i))
    removed_chars = sum(len(blocks[b][i]) for b, i in removed)
    if not removed or removed_chars > MAX_REMOVED_SHARE * len(text) or len(removed) == len(positions):
        return Cleaned(text)
    kept_blocks = []
    for b, lines in enumerate(blocks):
        kept = [line for i, line in enumerate(lines) if (b, i) not in removed]
        if any(line.strip() for line in kept):
            kept_blocks.append("\n".join(kept))
    return Cleaned("\n\n".join(kept_blocks), tuple(blocks[b][i].strip() for b, i in sorted(removed)))


def signature_once_cleaned(text: str, learned: Iterable[str]) -> tuple[bytes | None, str]:
    """The MinHash (archive.dedup.text_signature) of ``text`` cleaned of the lines whose fingerprints
    are ``learned``, and the content hash of that cleaned text.

    A distributed worker signs the text as the writer's model will clean it (the writer publishes
    :meth:`SiteBoilerplate.learned_fingerprints`); the writer keeps the signature only when its own
    cleaning gives the text of that hash (its model may have learned more meanwhile).
    """
    from archive.dedup import content_hash, text_signature

    learned = frozenset(learned)
    if learned:
        text = remove_lines(text, lambda line: line_fingerprint(line) in learned).text
    return text_signature(text), content_hash(text)
