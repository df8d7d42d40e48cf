"""What counts as a change of an article, and what kind of change it is: the archive's version rule.

A re-fetched article becomes a new version only when one of its *tracked* extracted fields
(`TRACKED_FIELDS`: title, authors, published and modified dates, text, description) differs after
normalisation. `normalise_value` is the one normaliser: it unescapes HTML entities, drops markup
tags, applies Unicode NFKC (a no-break space is a space), removes zero-width characters and soft
hyphens, drops tracking parameters (`utm_*`, `fbclid`, …) from URLs written in the text and
collapses whitespace; dates are compared as the same moment in UTC (`archive.dates.to_utc_iso`),
authors as the list of normalised names. So a change of whitespace, markup or tracking parameters,
or of any field outside `TRACKED_FIELDS` (image, tags, categories, language, site name, hints), is
never a version. A field the extraction did not find (blank, before or now) is unknown rather than
changed: a value found later fills it in without a version; only the text is always compared, and a
modified date that appears where there was none counts as a change of `dates` (it is how publishers
mark an edit).

`classify_change(old, new)` returns the `ChangeKind`s (archive/models.py) and the stored diff: a
unified diff of the text, by paragraph, and old -> new for the other changed fields. `correction`
is added (with `body`) when the new text has a correction or update note the old one lacks: a
paragraph starting with one of `CORRECTION_MARKERS` ("Correction:", "Update:", "Editor's note:",
"This article was amended …", in English, German, French, Spanish, Italian, Portuguese and
Dutch). Those patterns live here and nowhere else.

Both sides are column dicts as the archive stores them (`authors` as JSON text), so the same
function decides a live save (`Archive.save_article`) and fills in versions stored before migration
8 (archive/migrations.py). Settings: `DIFF_CONTEXT_LINES` (paragraphs of context in text diffs).
"""

from __future__ import annotations

import difflib
import html
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .dates import to_utc_iso
from .models import ChangeKind
from .tracking import is_tracking_parameter

DIFF_CONTEXT_LINES = 1

# Field (articles column) -> the kind of change it makes. Dates share one kind.
TRACKED_FIELDS: dict[str, ChangeKind] = {
    "title": ChangeKind.HEADLINE,
    "authors": ChangeKind.BYLINE,
    "published_at": ChangeKind.DATES,
    "modified_at": ChangeKind.DATES,
    "description": ChangeKind.DESCRIPTION,
    "text": ChangeKind.BODY,
}
DATE_FIELDS = ("published_at", "modified_at")

# Paragraph openings that mark a correction or update note. One pattern per language; each word
# must be followed within a short label ("Update, 3 May 14:00:", "Correction (May 3) -") by a colon
# or a dash, or closed by a bracket ("[Update]"), so that "Updated figures show …" is not a note. The sentence forms ("This article was
# amended …") need no colon.
_LABEL_END = r"(?:\b[^:\n]{0,60}?(?::|：|\s[-–—]\s)|\s*[\])])"
CORRECTION_MARKERS: dict[str, str] = {
    "en": r"(?:corrections?|correction appended|update[ds]?|clarifications?|editor[’']?s?[’']?\s+note|"
    r"note from the editors?|erratum|addendum|amendment)" + _LABEL_END,
    "en-sentence": r"(?:this (?:article|story|report|piece) (?:was|has been|had been) "
    r"(?:amended|updated|corrected|changed)|an earlier version of this (?:article|story|report|piece))\b",
    "de": r"(?:korrektur|berichtigung|richtigstellung|klarstellung|aktualisierung|aktualisiert|nachtrag|"
    r"anmerkung der redaktion|hinweis der redaktion|in eigener sache)" + _LABEL_END,
    "de-sentence": r"(?:in einer (?:früheren|ersten|älteren) (?:version|fassung) (?:dieses|des) "
    r"(?:artikels|beitrags|textes)|dieser (?:artikel|beitrag|text) wurde (?:aktualisiert|korrigiert|"
    r"ergänzt|geändert))\b",
    "fr": r"(?:correction|rectificatif|erratum|mise à jour|mis à jour|actualisation|actualisé|précision|"
    r"note de la rédaction|ndlr)" + _LABEL_END,
    "fr-sentence": r"(?:une (?:précédente|première) version de cet article|cet article a été "
    r"(?:modifié|mis à jour|corrigé|actualisé))\b",
    "es": r"(?:corrección|rectificación|fe de erratas|actualización|actualizado|aclaración|nota del editor|"
    r"nota de la redacción)" + _LABEL_END,
    "es-sentence": r"(?:una versión anterior de (?:este|esta) (?:artículo|nota|noticia)|(?:este artículo|esta "
    r"noticia) (?:ha sido|fue) (?:actualizad[oa]|corregid[oa]|modificad[oa]))\b",
    "it": r"(?:correzione|rettifica|errata corrige|aggiornamento|aggiornato|precisazione|nota della redazione|"
    r"nota del direttore)" + _LABEL_END,
    "it-sentence": r"(?:una (?:precedente|prima) versione di questo articolo|questo articolo è stato "
    r"(?:aggiornato|corretto|modificato))\b",
    "pt": r"(?:correção|correcção|retificação|rectificação|errata|atualização|actualização|atualizado|"
    r"actualizado|esclarecimento|nota do editor|nota da redação|nota da redacção)" + _LABEL_END,
    "pt-sentence": r"(?:uma versão anterior (?:deste|desta) (?:artigo|reportagem|notícia)|(?:este artigo|esta "
    r"notícia) (?:foi) (?:atualizad[oa]|corrigid[oa]|alterad[oa]))\b",
    "nl": r"(?:correctie|rectificatie|update|bijgewerkt|aanvulling|verduidelijking|"
    r"noot van de redactie|naschrift)" + _LABEL_END,
    "nl-sentence": r"(?:in een eerdere versie van dit (?:artikel|bericht|stuk)|dit (?:artikel|bericht) is "
    r"(?:aangepast|bijgewerkt|gecorrigeerd))\b",
}
# A note may open with a marker such as "*", "[", "(", "–" or an emoji before its label.
_NOTE_OPENING = re.compile(
    r"^[^\w]{0,3}(?:" + "|".join(CORRECTION_MARKERS.values()) + ")",
    re.IGNORECASE,
)

_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--.*?-->", re.DOTALL)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


@dataclass(frozen=True)
class Change:
    """What changed between two versions: the kinds (in `ChangeKind` order) and the stored diff.

    ``diff`` maps each changed field to ``{"old": …, "new": …}`` (authors as lists), except
    ``text``, which is a unified diff by paragraph, and ``correction``, the notes the new text adds.
    """

    kinds: tuple[ChangeKind, ...] = ()
    diff: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def kinds_json(self) -> str:
        return json.dumps([str(kind) for kind in self.kinds])

    def diff_json(self) -> str:
        return json.dumps(self.diff, ensure_ascii=False)


def normalise_value(value: Any) -> str:
    """One text value as compared: entities unescaped, tags dropped, NFKC, no invisible characters,
    no tracking parameters in URLs, whitespace runs collapsed to one space and the ends stripped."""
    if value is None:
        return ""
    text = html.unescape(str(value))
    text = _TAG.sub(" ", text)
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _URL.sub(lambda match: without_tracking(match.group(0)), text)
    return " ".join(text.split())


def without_tracking(url: str) -> str:
    """The URL without tracking query parameters (and without a query left empty)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [part for part in parts.query.split("&") if part and not is_tracking_parameter(part.partition("=")[0])]
    return urlunsplit(parts._replace(query="&".join(kept)))


def paragraphs(text: Any) -> list[str]:
    """The text's non-empty lines, each normalised: the units of the text diff."""
    lines = (normalise_value(line) for line in str(text or "").splitlines())
    return [line for line in lines if line]


def authors_list(value: Any) -> list[str]:
    """Author names from the stored JSON text (or a list, or a lone name), normalised, without repeats."""
    if value is None:
        return []
    names: Any = value
    if isinstance(value, str):
        try:
            names = json.loads(value)
        except ValueError:
            names = [value]
    if isinstance(names, str) or not isinstance(names, Sequence):
        names = [names]
    seen: dict[str, None] = {}
    for name in names:
        normalised = normalise_value(name)
        if normalised:
            seen.setdefault(normalised)
    return list(seen)


def normalised_field(name: str, value: Any) -> str | list[str]:
    """A tracked field's value as compared (see the module docstring)."""
    if name == "authors":
        return authors_list(value)
    if name in DATE_FIELDS:
        raw = normalise_value(value)
        return (to_utc_iso(raw) or raw) if raw else ""
    return normalise_value(value)


def correction_notes(text: Any) -> list[str]:
    """The paragraphs of the text that are correction or update notes, normalised."""
    return [paragraph for paragraph in paragraphs(text) if _NOTE_OPENING.match(paragraph)]


def classify_change(
    old: Mapping[str, Any], new: Mapping[str, Any], *, old_label: str = "old", new_label: str = "new"
) -> Change:
    """The change from ``old`` to ``new`` (column dicts); falsy when no tracked field changed.

    ``old_label``/``new_label`` name the sides in the text diff's header lines.
    """
    kinds: set[ChangeKind] = set()
    diff: dict[str, Any] = {}
    for name, kind in TRACKED_FIELDS.items():
        before, after = normalised_field(name, old.get(name)), normalised_field(name, new.get(name))
        # Unknown on one side is not a change, except a modified date that appears: publishers add one
        # when they edit an article.
        appeared = name == "modified_at" and not before and bool(after)
        if name != "text" and (not before or not after) and not appeared:
            continue
        if before == after:
            continue
        kinds.add(kind)
        if name == "text":
            diff["text"] = text_diff(old.get("text"), new.get("text"), old_label, new_label)
            earlier_notes = set(correction_notes(old.get("text")))
            added = [note for note in correction_notes(new.get("text")) if note not in earlier_notes]
            if added:
                kinds.add(ChangeKind.CORRECTION)
                diff["correction"] = added
        elif name == "authors":
            diff[name] = {"old": before, "new": after}
        else:
            diff[name] = {"old": old.get(name), "new": new.get(name)}
    return Change(tuple(kind for kind in ChangeKind if kind in kinds), diff)


def with_reappearance(change: Change, removed_at: str, removed_status: int | None) -> Change:
    """``change`` plus REAPPEARED: the article was marked removed at ``removed_at`` and is back online."""
    kinds = {*change.kinds, ChangeKind.REAPPEARED}
    diff = {**change.diff, "reappeared": {"removed_at": removed_at, "removed_status": removed_status}}
    return Change(tuple(kind for kind in ChangeKind if kind in kinds), diff)


def as_reextraction(change: Change) -> Change:
    """``change`` plus REEXTRACTED: it was found by extracting the stored response again with the current
    rules (`newsarchive reextract`), not on a new fetch; no change stays no change."""
    if not change:
        return change
    kinds = {*change.kinds, ChangeKind.REEXTRACTED}
    return Change(tuple(kind for kind in ChangeKind if kind in kinds), change.diff)


def text_diff(old: Any, new: Any, old_label: str = "old", new_label: str = "new") -> str:
    """A unified diff of the two texts by normalised paragraph, `DIFF_CONTEXT_LINES` of context."""
    lines = difflib.unified_diff(
        paragraphs(old), paragraphs(new), fromfile=old_label, tofile=new_label, n=DIFF_CONTEXT_LINES, lineterm=""
    )
    return "\n".join(lines)
