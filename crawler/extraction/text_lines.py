"""Line-level clean-up of the text trafilatura extracted: the lines that lead it without being body
(headline again, kicker, byline, date, labels) and those that end it (dangling labels, related-link
lists, signatures) dropped; a second story appended by an infinite-scroll page cut; noise lines
(lines repeated three times, credits, video teasers) left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from crawler.extraction.page import normalise
from crawler.extraction.standfirst import Outline, body_start, squash

# Lines that lead the text but are not body: the headline again (or with its kicker glued on), a
# kicker, a byline, a date line, an "Updated" label, a picture credit. Only a run of such lines at the
# very top is dropped; the first other line ends it.
HEADLINE_MIN_CHARS = 10
# A label leading the text: "Article", "Main content", "Up top", "In short", a section name.
LEADING_LABEL_MAX_WORDS = 3
LEADING_LABEL_MAX_CHARS = 30
READING_TIME_RE = re.compile(
    r"\b(lesedauer|lesezeit|reading time|min read|minutes? read|temps de lecture|tiempo de lectura|"
    r"min\.? de lectura|tempo di lettura|lästid|lesetid)\b",
    re.I,
)
# A reworded headline (the page shows another wording than its meta title): most of a headline's
# words, in a line that is no sentence (no full stop) and headline-short.
HEADLINE_MIN_WORD_SHARE = 0.6
HEADLINE_MAX_WORDS = 20
KICKER_MAX_WORDS = 5
KICKER_MAX_CHARS = 50
SENTENCE_END_RE = re.compile(r"[.!?…:]['\"”’»)]*$")
BYLINE_RE = re.compile(r"^(by|von|par|di|por|av|door|af|od|fra|text|texte|autor|autorin|author|reporter)\b[:\s]", re.I)
BYLINE_MAX_WORDS = 8
BYLINE_MAX_CHARS = 60  # CJK lines have no spaces to count words by
DATE_RES: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b"),
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"),
    re.compile(r"\b\d{1,2}[:.]\d{2}\b"),
    re.compile(r"\b\d{1,2}\.?\s+[^\W\d_]{3,}\.?,?\s+\d{4}\b"),
    re.compile(r"\b[^\W\d_]{3,}\.?\s+\d{1,2},?\s+\d{4}\b"),
)
DATE_LINE_MAX_OTHER_WORDS = 3
UPDATED_RE = re.compile(
    r"\b(updated|aktualisiert|actualizado|actualisé|mis à jour|aggiornato|oppdatert|uppdaterad|bijgewerkt|opdateret|"
    r"aktualizováno|zaktualizowano|güncellendi|更新)",
    re.I,
)
UPDATED_LINE_MAX_WORDS = 4
CREDIT_RE = re.compile(
    r"^(foto|fotos|photo|photos|bild|image|images|quelle|source|credit|crédit|imagen|billede|kuva|фото)\s*:|getty images$|"
    r"\((ap|afp|reuters|dpa) photo\b",
    re.I,
)
CREDIT_MAX_WORDS = 12
# A caption ending with its credit ("… Bild: Name"), a picture's caption line above its credit line.
CREDIT_TAIL_RE = re.compile(r"\b(foto|photo|bild|image|picture|credit|crédit|quelle|imagen)\s*:\s*[^.!?:]{0,60}$", re.I)

# Lines that end the text but are not body: a dangling label ("Read more:", "Ähnliche:") whose links
# were dropped, a list of related links under such a label or a short heading, a signature line.
LABEL_MAX_WORDS = 8
LABEL_MAX_CHARS = 60
LIST_ITEM_MAX_WORDS = 20
LIST_HEADING_MAX_WORDS = 5
LIST_LABEL_MAX_WORDS = 3  # "Related:", "Lesen Sie auch:"; a longer one introduces a list of the body
ITEM_SENTENCE_END_RE = re.compile(r"[.,;]$")  # headlines of linked stories end without these
MIN_LINK_LIST_ITEMS = 2

# Anywhere in the text: a line repeated this often is a placeholder (an embed blocked by consent
# settings, "Advertisement"), a short picture credit line is no body, nor is the teaser of a video
# ending with its date and running time ("… 21.04.2024 | 3:18 min").
REPEATED_LINE_MIN_COUNT = 3
CREDIT_LINE_MAX_WORDS = 8
VIDEO_TEASER_RE = re.compile(r"\|\s*\d{1,3}:\d{2}\s*min\.?$")

# A line is placed in the page by its first characters, when that long a text node starts it.
PLACE_CHARS = 40


# --- lines that lead the text but are not body -----------------------------------------------------


def is_headline(line: str, headlines: Sequence[str]) -> bool:
    """The headline again: equal to one, containing one (kicker glued on), or a good part of one."""
    key = normalise(line)
    if len(key) < HEADLINE_MIN_CHARS:
        return False
    for headline in headlines:
        other = normalise(headline)
        if len(other) < HEADLINE_MIN_CHARS:
            continue
        if key in other and 2 * len(key) >= len(other):
            return True
        if other in key and len(key) - len(other) <= KICKER_MAX_CHARS and not is_sentence(line, headline):
            return True  # the kicker glued to the headline
        if is_reworded_headline(line, key, other):
            return True
    return False


def is_sentence(line: str, headline: str) -> bool:
    """Ends with a full stop the headline does not have: a sentence of the body, not a headline."""
    return line.rstrip().endswith(".") and not headline.rstrip().endswith(".")


def is_reworded_headline(line: str, key: str, headline_key: str) -> bool:
    words = key.split()
    if len(words) > HEADLINE_MAX_WORDS or line.rstrip().endswith("."):
        return False
    wanted = set(headline_key.split())
    return len(wanted) >= 3 and len(wanted & set(words)) >= HEADLINE_MIN_WORD_SHARE * len(wanted)


def is_date_line(line: str) -> bool:
    if SENTENCE_END_RE.search(line) and not re.search(r"\d\.$", line):
        return False  # "On 12 May 2024 he won." is a sentence
    rest = line
    for pattern in DATE_RES:
        rest = pattern.sub(" ", rest)
    if rest == line:
        return False
    return len(re.findall(r"[^\W\d_]{2,}", rest)) <= DATE_LINE_MAX_OTHER_WORDS


def is_byline(line: str, authors: Sequence[str]) -> bool:
    words = line.split()
    if len(words) > BYLINE_MAX_WORDS or len(line) > BYLINE_MAX_CHARS or SENTENCE_END_RE.search(line):
        return False
    if BYLINE_RE.match(line):
        return True
    key = normalise(line)
    return any(normalise(name) and normalise(name) in key for name in authors)


def is_chrome_line(line: str, authors: Sequence[str]) -> bool:
    """A date line, an "Updated" label, a byline or a picture credit."""
    words = line.split()
    return (
        is_date_line(line)
        or (len(words) <= UPDATED_LINE_MAX_WORDS and bool(UPDATED_RE.search(line)))
        or is_byline(line, authors)
        or (len(words) <= CREDIT_MAX_WORDS and bool(CREDIT_RE.search(line)))
    )


def is_leading_label(line: str) -> bool:
    """A short label line (no sentence), a label ending with a colon, or a reading time."""
    words = line.split()
    if len(words) <= LEADING_LABEL_MAX_WORDS and len(line) <= LEADING_LABEL_MAX_CHARS:
        return not SENTENCE_END_RE.search(line) or line.endswith(":")
    return is_label(line) or (len(words) <= UPDATED_LINE_MAX_WORDS and bool(READING_TIME_RE.search(line)))


def is_whole_block(lines: list[str], index: int) -> bool:
    """The line stands alone between blank lines: not a piece of a paragraph split at inline markup."""
    before = index == 0 or not lines[index - 1].strip()
    after = index + 1 >= len(lines) or not lines[index + 1].strip()
    return before and after


def is_kicker(line: str) -> bool:
    return len(line.split()) <= KICKER_MAX_WORDS and len(line) <= KICKER_MAX_CHARS and not SENTENCE_END_RE.search(line)


def without_leading_chrome(text: str, headlines: Sequence[str], authors: Sequence[str]) -> str:
    """The text without the headline, kicker, byline, date and credit lines that lead it."""
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = squash(lines[index])
        following = next((squash(later) for later in lines[index + 1 :] if later.strip()), "")
        if (
            not line
            or is_headline(line, headlines)
            or is_chrome_line(line, authors)
            or bool(CREDIT_TAIL_RE.search(line))
            or (is_leading_label(line) and is_whole_block(lines, index))
            or (line.startswith("- ") and is_leading_label(line[2:]))  # share and menu buttons
            or (is_kicker(line) and is_headline(following, headlines))
            or (bool(following) and is_chrome_line(following, authors) and bool(CREDIT_RE.search(following)))
        ):
            index += 1
            continue
        break
    if index == 0:
        return text
    return "\n".join(lines[index:]).strip()


# --- a second story appended -----------------------------------------------------------------------


def without_next_story(text: str, page: Outline) -> str:
    """The text cut where a later story begins: an infinite-scroll page renders the next article
    (its own ``<article>`` with its own ``<h1>``) after the one read, and trafilatura keeps both."""
    start = body_start(page, text)
    if start is None or len(page.stories) < 2:
        return text
    own = [story for story in page.stories if story[0] <= start <= story[1]]
    if not own:
        return text
    own_end = min(own, key=lambda story: story[1] - story[0])[1]
    later = [story for story in page.stories if story[0] > own_end]
    if not later:
        return text
    places: dict[str, int] = {}
    for position, node_text, _ in page.texts:
        if len(node_text) >= PLACE_CHARS:
            places.setdefault(node_text[:PLACE_CHARS], position)
    lines = text.split("\n")
    for index, line in enumerate(lines):
        position = places.get(squash(line)[:PLACE_CHARS])
        if position is not None and any(first <= position <= last for first, last in later):
            kept = "\n".join(lines[:index]).strip()
            return kept or text
    return text


# --- noise lines anywhere in the text --------------------------------------------------------------


def without_noise_lines(text: str) -> str:
    """The text without lines repeated three times or more, picture credit lines and video teasers."""
    lines = text.split("\n")
    counts = Counter(squash(line) for line in lines if line.strip())
    kept = [
        line
        for line in lines
        if not (
            counts[squash(line)] >= REPEATED_LINE_MIN_COUNT
            or (line.strip() and len(line.split()) <= CREDIT_LINE_MAX_WORDS and CREDIT_RE.search(squash(line)))
            or VIDEO_TEASER_RE.search(line.rstrip())
        )
    ]
    if len(kept) == len(lines):
        return text
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


# --- lines that end the text but are not body ------------------------------------------------------


def is_label(line: str) -> bool:
    return line.endswith(":") and len(line.split()) <= LABEL_MAX_WORDS and len(line) <= LABEL_MAX_CHARS


def is_list_item(line: str) -> bool:
    return line.startswith("- ") and len(line.split()) <= LIST_ITEM_MAX_WORDS and not ITEM_SENTENCE_END_RE.search(line)


def trailing_link_list(lines: list[str]) -> int:
    """How many of the last lines are a list of links under a label or short heading (0: none)."""
    index = len(lines)
    while index > 0 and is_list_item(lines[index - 1]):
        index -= 1
    items = len(lines) - index
    if items < MIN_LINK_LIST_ITEMS or index == 0:
        return 0
    heading = lines[index - 1]
    if (is_label(heading) and len(heading.split()) <= LIST_LABEL_MAX_WORDS) or (
        len(heading.split()) <= LIST_HEADING_MAX_WORDS and not SENTENCE_END_RE.search(heading)
    ):
        return items + 1
    return 0


def without_trailing_chrome(text: str, authors: Sequence[str]) -> str:
    """The text without the labels, link lists and signature lines that end it."""
    lines = [squash(line) for line in text.split("\n")]
    kept = list(lines)
    while kept:
        if not kept[-1] or is_label(kept[-1]) or is_byline(kept[-1], authors):
            kept.pop()
            continue
        cut = trailing_link_list([line for line in kept if line])
        if not cut:
            break
        while cut:
            if kept.pop():
                cut -= 1
    if len(kept) == len(lines) or not any(kept):
        return text
    return "\n".join(text.split("\n")[: len(kept)]).strip()
