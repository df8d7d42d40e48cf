"""Epochs of the fixture news site: what "one week later" looks like, decided from the seed.

``advance_model(site_model, at)`` returns the next epoch's model and an ``EpochChanges`` record of
what changed, as data. From one epoch to the next, of the articles alive:

- ``EDIT_FRACTION`` (5 %) get a real edit, in the kinds of ``EDIT_CYCLE``: ``body`` (one paragraph
  rewritten), ``correction`` (a "Correction: ..." note appended), ``headline`` (a new title, same
  URL). Each gets ``dateModified`` / ``article:modified_time`` / sitemap ``<lastmod>`` /
  ``Last-Modified`` = the epoch time.
- ``MARKUP_FRACTION`` (1 %) get a markup-only edit: whitespace and an HTML comment change, nothing
  an archive should call a change (no new ``dateModified``; the ETag changes, Last-Modified not).
- ``REMOVE_FRACTION`` (2 %) are removed, in the kinds of ``REMOVAL_CYCLE``: 404, 410, or a 301
  redirect to the home page.
- ``NEW_FRACTION`` (10 %) new articles are published between the previous epoch and this one; they
  appear in feeds, sitemaps, section pages and the home page like any other.
- From epoch 2 on, one article removed in the previous epoch comes back (``restored``), byte for
  byte as it was, in its old place in listings and sitemaps.
- At epoch 1 one untouched article turns ``volatile``: from then on its HTML carries a nonce and
  a timestamp that change on every fetch, while its text does not.

Every other article page is byte-identical to the previous epoch's (pages keep the related links,
recent posts and most-read box of the epoch they were born in). Each kind happens at least once
whatever the site's size. Edits, removals and the volatile article are drawn from ordinary dated
articles only (never the flaky/busy ones, the originals of wire copies, or the private ones).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tests.newssite import model as m
from tests.newssite import prose
from tests.newssite.model import Article, SiteModel

EDIT_FRACTION = 0.05
MARKUP_FRACTION = 0.01
REMOVE_FRACTION = 0.02
NEW_FRACTION = 0.10
EPOCH_LENGTH = timedelta(days=7)


class EditKind(StrEnum):
    BODY = "body"
    CORRECTION = "correction"
    HEADLINE = "headline"
    MARKUP = "markup"  # whitespace and markup only: not a change of any archived field


class RemovalKind(StrEnum):
    NOT_FOUND = "not_found"  # 404
    GONE = "gone"  # 410
    REDIRECT_HOME = "redirect_home"  # 301 to the home page


EDIT_CYCLE = (EditKind.BODY, EditKind.CORRECTION, EditKind.HEADLINE, EditKind.BODY)
REMOVAL_CYCLE = (RemovalKind.NOT_FOUND, RemovalKind.GONE, RemovalKind.REDIRECT_HOME, RemovalKind.NOT_FOUND)
REMOVAL_STATUS = {RemovalKind.NOT_FOUND: 404, RemovalKind.GONE: 410, RemovalKind.REDIRECT_HOME: 301}
# The vocabulary of change kinds, for the fields each edit kind changes. "dates" only where
# the page prints a modified time: the minimal template never does (see ``change_kinds``).
CHANGE_KINDS: dict[EditKind, tuple[str, ...]] = {
    EditKind.BODY: ("body", "dates"),
    EditKind.CORRECTION: ("body", "correction", "dates"),
    EditKind.HEADLINE: ("dates", "headline"),
    EditKind.MARKUP: (),
}


@dataclass(frozen=True)
class Edit:
    """One article edited in an epoch; ``change_kinds`` is empty for a markup-only edit."""

    article_id: int
    path: str
    kind: EditKind
    change_kinds: tuple[str, ...]
    old_title: str
    new_title: str
    old_modified: datetime | None
    new_modified: datetime | None
    old_paragraphs: tuple[str, ...]
    new_paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Removal:
    """One article taken down in an epoch, and how the site answers for it from then on."""

    article_id: int
    path: str
    kind: RemovalKind
    status: int  # 404, 410 or 301
    epoch: int


@dataclass(frozen=True)
class EpochChanges:
    """What changed from epoch ``epoch - 1`` to ``epoch`` (served from ``time`` on)."""

    epoch: int
    time: datetime
    edits: tuple[Edit, ...]
    removals: tuple[Removal, ...]
    added: tuple[int, ...]  # new article ids, oldest first
    volatile: tuple[int, ...]  # articles that began to change on every fetch
    unchanged: tuple[int, ...]  # articles alive in both epochs whose page bytes are identical
    restored: tuple[int, ...] = ()  # removed in the previous epoch, back now as they were

    def edited_ids(self, *kinds: EditKind) -> list[int]:
        """Ids edited in this epoch, of the given kinds (default: the real edits, not markup)."""
        wanted = set(kinds) or {EditKind.BODY, EditKind.CORRECTION, EditKind.HEADLINE}
        return [e.article_id for e in self.edits if e.kind in wanted]

    def removed_ids(self, *kinds: RemovalKind) -> list[int]:
        wanted = set(kinds) or set(RemovalKind)
        return [r.article_id for r in self.removals if r.kind in wanted]


def change_kinds(kind: EditKind, article: Article) -> tuple[str, ...]:
    """What an archive comparing this page's extracted fields should see change."""
    kinds = CHANGE_KINDS[kind]
    return kinds if article.template != "minimal" else tuple(k for k in kinds if k != "dates")


def _count(fraction: float, alive: int, minimum: int) -> int:
    return max(minimum, round(alive * fraction))


def _local(moment: datetime) -> datetime:
    return moment.astimezone(m._offset_for(moment.astimezone(UTC).replace(tzinfo=None)))


def _edited(article: Article, kind: EditKind, epoch: int, at: datetime, site: SiteModel) -> Article:
    edits = (*article.edits, (kind.value, epoch))
    if kind is EditKind.MARKUP:
        return replace(article, edits=edits, revision=article.revision + 1)
    title = article.title
    if kind is EditKind.HEADLINE:
        rng = random.Random(f"{article.seed_text}:headline:{epoch}")
        while title == article.title:
            title = prose.headline(rng, article.language, article.section[0])
    return replace(article, title=title, modified=at, edits=edits, revision=article.revision + 1)


def advance_model(site: SiteModel, at: datetime | None = None) -> tuple[SiteModel, EpochChanges]:
    """The model one epoch after ``site``, served from ``at`` (default: one week later)."""
    epoch = site.epoch + 1
    at = _local((at or site.epoch_time + EPOCH_LENGTH).replace(microsecond=0))
    if at <= site.epoch_time:
        raise ValueError(
            f"epoch {epoch} must come after epoch {site.epoch} ({site.epoch_time.isoformat()}), "
            f"not at {at.isoformat()}; pass a later time to advance()"
        )
    rng = random.Random(f"newssite:{site.seed}:epoch:{epoch}")
    alive = list(site.articles)
    wire_originals = {c.original.article_id for c in site.wire_copies}
    candidates = [
        a
        for a in alive
        if a.path.count("/") == 5 and a.article_id not in wire_originals and not a.volatile and a.reach != "private"
    ]
    n_edit = _count(EDIT_FRACTION, len(alive), len(set(EDIT_CYCLE)))
    n_markup = _count(MARKUP_FRACTION, len(alive), 1)
    n_remove = _count(REMOVE_FRACTION, len(alive), len(set(REMOVAL_CYCLE)))
    n_volatile = 1 if epoch == 1 else 0
    chosen = rng.sample(candidates, n_edit + n_markup + n_remove + n_volatile)
    edit_ids = chosen[:n_edit]
    markup_ids = chosen[n_edit : n_edit + n_markup]
    remove_ids = chosen[n_edit + n_markup : n_edit + n_markup + n_remove]
    volatile_ids = chosen[n_edit + n_markup + n_remove :]

    replaced: dict[int, Article] = {}
    edits: list[Edit] = []
    planned = [(a, EDIT_CYCLE[i % len(EDIT_CYCLE)]) for i, a in enumerate(edit_ids)]
    planned += [(a, EditKind.MARKUP) for a in markup_ids]
    for article, kind in sorted(planned, key=lambda pair: pair[0].article_id):
        new = _edited(article, kind, epoch, at, site)
        replaced[article.article_id] = new
        edits.append(
            Edit(
                article.article_id,
                article.path,
                kind,
                change_kinds(kind, article),
                article.title,
                new.title,
                article.modified,
                new.modified,
                tuple(m.article_paragraphs(article)),
                tuple(m.article_paragraphs(new)),
            )
        )
    for article in volatile_ids:
        replaced[article.article_id] = replace(article, volatile=True)
    removals = tuple(
        Removal(a.article_id, a.path, kind, REMOVAL_STATUS[kind], epoch)
        for a, kind in sorted(
            ((a, REMOVAL_CYCLE[i % len(REMOVAL_CYCLE)]) for i, a in enumerate(remove_ids)),
            key=lambda pair: pair[0].article_id,
        )
    )
    removed_ids = {r.article_id for r in removals}

    n_new = _count(NEW_FRACTION, len(alive), 1)
    span = min(EPOCH_LENGTH, at - site.epoch_time)
    fractions = sorted(rng.uniform(0.02, 1.0) for _ in range(n_new))
    times = [_local(at - span + span * f).replace(microsecond=0) for f in fractions]
    templates = m._spread(rng, m.TEMPLATE_CYCLE, n_new)
    sections = m._spread(rng, m.SECTIONS, n_new)
    used_slugs = set(site.used_slugs)
    new_articles = []
    for k, published in enumerate(times):
        article = m._make_article(
            site.seed,
            site.next_id + k,
            max(published, site.epoch_time + timedelta(seconds=1)),
            sections[k],
            "en",
            templates[k],
            "utf-8",
            "everywhere",
            site.authors,
            used_slugs,
            "dated",
        )
        # Nothing new has been edited yet; its comments are not from the future either.
        comments = tuple(c for c in article.comments if c.posted <= at)
        new_articles.append(replace(article, modified=None, comments=comments, born_epoch=epoch))

    comeback = sorted(r.article_id for r in site.removed.values() if r.epoch == site.epoch)
    restored = [rng.choice(comeback)] if epoch >= 2 and comeback else []
    graveyard = {i: entry for i, entry in site.graveyard.items() if i not in restored}
    graveyard.update({a.article_id: (a, site.sitemap_slots.get(a.article_id, -1)) for a in remove_ids})
    articles = [replaced.get(a.article_id, a) for a in alive if a.article_id not in removed_ids]
    articles = sorted(articles + [site.graveyard[i][0] for i in restored], key=lambda a: a.article_id)
    model = SiteModel(
        seed=site.seed,
        articles=tuple(articles + new_articles),
        private_articles=site.private_articles,
        wire_copies=site.wire_copies,
        authors=site.authors,
        tags=site.tags,
        flaky_path=site.flaky_path,
        busy_path=site.busy_path,
        epoch=epoch,
        epoch_time=at,
        removed={
            path: r
            for path, r in {**site.removed, **{r.path: r for r in removals}}.items()
            if r.article_id not in restored
        },
        graveyard=graveyard,
        used_slugs=frozenset(used_slugs),
        next_id=site.next_id + n_new,
    )
    m.index_model(model, rng)
    model.most_read = tuple(model.by_id[a.article_id] for a in site.most_read if a.article_id in model.by_id)
    slots = {i: s for i, s in site.sitemap_slots.items() if i not in removed_ids}
    slots.update({i: site.graveyard[i][1] for i in restored if site.graveyard[i][1] >= 0})
    next_slot = max([*site.sitemap_slots.values(), *(slot for _, slot in site.graveyard.values())], default=-1) + 1
    for offset, article in enumerate(new_articles):
        slots[article.article_id] = next_slot + offset
    model.sitemap_slots = slots
    model.sitemap_articles = tuple(sorted(model.sitemap_articles, key=lambda a: slots[a.article_id]))
    touched = set(replaced) | removed_ids
    changes = EpochChanges(
        epoch=epoch,
        time=at,
        edits=tuple(edits),
        removals=removals,
        added=tuple(a.article_id for a in new_articles),
        volatile=tuple(a.article_id for a in volatile_ids),
        unchanged=tuple(a.article_id for a in alive if a.article_id not in touched and not a.volatile),
        restored=tuple(restored),
    )
    return model, changes
