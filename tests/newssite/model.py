"""The fixture news site as data: articles, sections, tags, authors, and who links to what.

``build_model(n_articles, seed)`` decides everything that is cheap (titles, dates, paths, templates,
encodings, which articles are reachable how); body paragraphs are generated lazily by
``article_paragraphs`` because they are the expensive part. The same (n_articles, seed) always gives
the same model. Link decoration (tracking parameters, fragments) is decided here too, in one place,
so the pages that print links and ``alias_urls`` can never disagree.

A model is one epoch of the site (``epoch``, ``epoch_time``); ``tests/newssite/epochs.py`` derives
the next one. An ``Article`` carries its own edit history (``edits``, ``revision``), so its
paragraphs stay a pure function of the article and unchanged articles render byte-identically.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, TypeVar

from tests.newssite import prose

if TYPE_CHECKING:
    from tests.newssite.epochs import Removal

SITE_NAME = "The Harbour Gazette"
SITE_TAGLINE = "News from the harbour city since 1887"
# A line each article template prints inside the article body, where no selector list can know it is
# not the article's (site-level boilerplate that a crawler must learn); "{year}" is the article's year.
TEMPLATE_LINES = {
    "wordpress": "Got a story tip? Email the newsroom at tips@harbour-gazette.example or call 555-0142.",
    "portal": "Independent local journalism needs your support: subscribe to The Harbour Gazette from $1 a week.",
    "minimal": "© {year} The Harbour Gazette. All rights reserved. Reproduction without permission is prohibited.",
}
# What a wire copy says under its text, linking the original.
SYNDICATION_NOTE = "This article first appeared in"
TEASERS_PER_PAGE = 10
HOME_TEASERS = 20
FEED_ITEMS = 30
NEWS_SITEMAP_ITEMS = 50
SITEMAP_URLS_PER_FILE = 500
LISTING_TEASERS = 20  # on tag and author pages
DISALLOWED_PREFIXES = ("/private/",)
MIN_ARTICLES = 20
LATEST_PUBLICATION = datetime(2024, 6, 28, 18, 0)

TEMPLATE_CYCLE = ("wordpress",) * 4 + ("portal",) * 4 + ("minimal",) * 2

SECTIONS: tuple[tuple[str, str], ...] = (
    ("politics", "Politics"),
    ("business", "Business"),
    ("science", "Science & Tech"),
    ("culture", "Culture"),
    ("sport", "Sport"),
)
WIRE_SECTION = ("wire", "Wire")

SECTION_TAGS: dict[str, tuple[str, ...]] = {
    "politics": ("transport", "housing", "budget", "city council", "elections"),
    "business": ("harbour", "jobs", "energy", "retail", "start-ups"),
    "science": ("research", "health", "environment", "broadband", "data protection", "apps"),
    "culture": ("theatre", "music", "film", "books", "museums"),
    "sport": ("football", "rowing", "handball", "running", "stadium"),
}
GENERAL_TAGS = ("local history", "weather", "Northgate", "Riverside", "analysis")

STAFF: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Anna Becker", ("politics", "business")),
    ("Thomas Hughes", ("politics",)),
    ("Zoé Laurent", ("culture", "politics")),
    ("Daniel Okafor", ("business", "science")),
    ("Julia Schmidt", ("science",)),
    ("René Fischer", ("science",)),
    ("Hannah Morrison", ("culture",)),
    ("Felix Novak", ("sport",)),
    ("Chloé Dubois", ("sport", "culture")),
    ("Oliver Brennan", ("business",)),
    ("Priya Patel", ("science", "business")),
    ("Mark Jensen", ("sport", "politics")),
)
AUTHOR_BIO = (
    "{name} has reported for {site} since {year}, covering {beats}. Before joining the paper, "
    "{first} worked for a regional radio station and studied journalism in Hamburg. Tips and "
    "story ideas are always welcome via the contact page."
)
LIVE_PAGES = (
    ("election-night-results", "Election night: results as they come in"),
    ("harbour-marathon-live", "Harbour Marathon 2024 – live ticker"),
)
REPORT_NUMBERS = (2021, 2022, 2023)
DOWNLOAD_NUMBERS = (1, 2)
REMOVED_ARTICLE_PATH = "/2019/03/04/ferry-timetable-changes-for-the-summer/"
# The moment epoch 0 is served: after every generated publication and modification time (modified
# times reach at most 72 hours past LATEST_PUBLICATION). Listing pages, feeds and sitemaps that have
# not changed since epoch 0 carry it as their Last-Modified.
EPOCH0_TIME = datetime(2024, 7, 2, 0, 0, tzinfo=timezone(timedelta(hours=2)))

Reach = str  # "everywhere" | "sitemap-only" | "links-only" | "private"
T = TypeVar("T")


@dataclass(frozen=True)
class Author:
    slug: str
    name: str
    bio: str


@dataclass(frozen=True)
class Tag:
    slug: str
    name: str


@dataclass(frozen=True)
class Comment:
    comment_id: int
    author_name: str
    text: str
    posted: datetime


@dataclass(frozen=True)
class Article:
    """One article's metadata; its paragraphs come from ``article_paragraphs``."""

    article_id: int
    slug: str
    path: str  # canonical path, e.g. "/2024/05/12/city-council-approves-new-tram-line/"
    title: str
    summary: str
    language: str
    section: tuple[str, str]  # (slug, display name)
    tags: tuple[Tag, ...]
    authors: tuple[Author, ...]
    published: datetime
    modified: datetime | None
    template: str  # "wordpress" | "portal" | "minimal"
    encoding: str  # "utf-8" | "windows-1252" | "utf-8-undeclared"
    reach: Reach
    comments: tuple[Comment, ...]
    image_id: int
    seed_text: str  # seeds this article's paragraph generator
    # Epoch bookkeeping (see tests/newssite/epochs.py); the defaults are an epoch-0 article.
    born_epoch: int = 0  # its page's chrome (related, recent, most read) is that epoch's, forever
    edits: tuple[tuple[str, int], ...] = ()  # (EditKind value, epoch) applied in order
    revision: int = 0  # bumped by every edit, markup-only ones included: a new rendering
    volatile: bool = False  # its HTML carries a nonce and a timestamp that change on every fetch
    # Served as a JavaScript-only page: the head as usual, the body an empty container that an inline
    # script fills from a <script type="application/json"> block (``NewsSite(..., js_share=...)``).
    js_only: bool = False

    @property
    def amp_path(self) -> str | None:
        """Only the CMS templates publish AMP versions; the minimal one never had a plugin for it.

        Nor does a JavaScript-only article: an AMP copy would hand its text to any plain-HTTP crawler.
        """
        if self.js_only:
            return None
        return self.path + "amp/" if self.template in ("wordpress", "portal") else None

    @property
    def listed(self) -> bool:
        return self.reach != "sitemap-only"

    @property
    def in_sitemaps(self) -> bool:
        return self.reach != "links-only"


@dataclass(frozen=True)
class WireCopy:
    path: str
    original: Article


@dataclass
class SiteModel:
    """Everything about one generated site except rendered pages."""

    seed: int
    articles: tuple[Article, ...]  # oldest first
    private_articles: tuple[Article, ...]
    wire_copies: tuple[WireCopy, ...]
    authors: tuple[Author, ...]
    tags: tuple[Tag, ...]
    flaky_path: str
    busy_path: str
    by_path: dict[str, Article] = field(default_factory=dict)
    amp_by_path: dict[str, Article] = field(default_factory=dict)
    by_id: dict[int, Article] = field(default_factory=dict)
    listed_newest: tuple[Article, ...] = ()
    feed_articles: tuple[Article, ...] = ()
    sitemap_articles: tuple[Article, ...] = ()
    section_listed_newest: dict[str, tuple[Article, ...]] = field(default_factory=dict)
    most_read: tuple[Article, ...] = ()
    # Epochs: which one this model is, when it is served, and what earlier epochs removed.
    epoch: int = 0
    epoch_time: datetime = EPOCH0_TIME
    removed: dict[str, Removal] = field(default_factory=dict)  # path -> how a taken-down article answers
    graveyard: dict[int, tuple[Article, int]] = field(default_factory=dict)  # removed id -> (article, slot)
    sitemap_slots: dict[int, int] = field(default_factory=dict)  # article id -> position, stable
    used_slugs: frozenset[str] = frozenset()
    next_id: int = 0

    @property
    def calendar_month(self) -> tuple[int, int]:
        """The month the sidebar's archive link points at: the newest article's month."""
        newest = self.articles[-1].published
        return newest.year, newest.month


def _offset_for(moment: datetime) -> timezone:
    # Central European time, close enough: summer time from April to October.
    return timezone(timedelta(hours=2 if 4 <= moment.month <= 10 else 1))


def _publication_times(rng: random.Random, count: int) -> list[datetime]:
    span_minutes = max(60, count // 3) * 24 * 60
    minutes = sorted(rng.sample(range(0, span_minutes, 5), count))
    start = LATEST_PUBLICATION - timedelta(minutes=span_minutes)
    local_times = [start + timedelta(minutes=m) for m in minutes]
    return [t.replace(tzinfo=_offset_for(t)) for t in local_times]


def _spread(rng: random.Random, cycle: tuple[T, ...], count: int) -> list[T]:
    """Values in the cycle's proportions, shuffled: every kind appears even on small sites."""
    values = [cycle[i % len(cycle)] for i in range(count)]
    rng.shuffle(values)
    return values


def _authors() -> tuple[Author, ...]:
    authors = []
    for index, (name, beats) in enumerate(STAFF):
        names = [dict(SECTIONS)[beat].lower() for beat in beats]
        bio = AUTHOR_BIO.format(
            name=name, site=SITE_NAME, year=2008 + index, first=name.split()[0], beats=" and ".join(names)
        )
        authors.append(Author(prose.slugify(name), name, bio))
    return tuple(authors)


def _tags() -> tuple[Tag, ...]:
    names = [name for names in SECTION_TAGS.values() for name in names] + list(GENERAL_TAGS)
    return tuple(Tag(prose.slugify(name), name) for name in names)


def _make_article(
    seed: int,
    article_id: int,
    published: datetime,
    section: tuple[str, str],
    language: str,
    template: str,
    encoding: str,
    reach: Reach,
    authors: tuple[Author, ...],
    used_slugs: set[str],
    path_kind: str,
    js_only: bool = False,
) -> Article:
    seed_text = f"newssite:{seed}:article:{article_id}"
    rng = random.Random(seed_text)
    title = prose.headline(rng, language, section[0])
    summary = prose.summary(rng, language, section[0])
    slug = prose.slugify(title)
    if slug in used_slugs:
        slug = f"{slug}-{article_id}"
    used_slugs.add(slug)
    tag_names = rng.sample(SECTION_TAGS[section[0]], rng.randrange(1, 4))
    if rng.random() < 0.4:
        tag_names.append(rng.choice(GENERAL_TAGS))
    beat_writers = [a for a, (_, beats) in zip(authors, STAFF) if section[0] in beats]
    writer_count = rng.choice((1, 2, 2, 3)) if template == "portal" else 1
    writers = tuple(rng.sample(beat_writers, min(writer_count, len(beat_writers))))
    modified = None
    if rng.random() < 0.35:
        modified = published + timedelta(minutes=5 * rng.randrange(12, 12 * 72))
    comments = ()
    if template == "wordpress":
        comments = tuple(
            Comment(
                article_id * 10 + k,
                prose.person_name(rng),
                prose.comment_text(rng),
                published + timedelta(minutes=7 + 37 * k + rng.randrange(0, 30)),
            )
            for k in range(1, rng.randrange(3, 6))
        )
    if path_kind == "flaky":
        path = "/flaky/"
    elif path_kind == "busy":
        path = f"/busy/{slug}/"
    elif path_kind == "private":
        path = f"/private/{slug}/"
    else:
        path = f"/{published:%Y/%m/%d}/{slug}/"
    return Article(
        article_id=article_id,
        slug=slug,
        path=path,
        title=title,
        summary=summary,
        language=language,
        section=section,
        tags=tuple(Tag(prose.slugify(n), n) for n in tag_names),
        authors=writers,
        published=published,
        modified=modified,
        template=template,
        encoding=encoding,
        reach=reach,
        comments=comments,
        image_id=article_id,
        seed_text=seed_text,
        js_only=js_only,
    )


def _javascript_ids(seed: int, js_share: float, templates: dict[int, str], excluded: set[int]) -> set[int]:
    """``js_share`` of the articles, chosen per template (so every template has its share) from an RNG
    of their own: the rest of the model is the same whatever the share."""
    if js_share <= 0:
        return set()
    rng = random.Random(f"newssite:{seed}:javascript")
    chosen: set[int] = set()
    for template in dict.fromkeys(TEMPLATE_CYCLE):
        pool = sorted(i for i, t in templates.items() if t == template and i not in excluded)
        chosen.update(rng.sample(pool, min(len(pool), round(len(pool) * js_share))))
    return chosen


def build_model(n_articles: int, seed: int, js_share: float = 0.0) -> SiteModel:
    if not 0.0 <= js_share <= 1.0:
        raise ValueError(f"js_share is a fraction of the articles, 0.0 to 1.0; got {js_share}")
    if n_articles < MIN_ARTICLES:
        raise ValueError(
            f"NewsSite(n_articles={n_articles}) is too small: every kind of page needs at least "
            f"{MIN_ARTICLES} articles; pass n_articles >= {MIN_ARTICLES}."
        )
    rng = random.Random(f"newssite:{seed}:site")
    authors = _authors()
    times = _publication_times(rng, n_articles + 3)
    ids = list(range(1, n_articles + 1))
    # The newest articles stay ordinary so the home page and feeds are full.
    ordinary_pool = ids[:-HOME_TEASERS]
    flaky_id, busy_id, *special = rng.sample(ordinary_pool, 2 + 2 * max(2, n_articles // 50))
    hidden = len(special) // 2
    reach = dict.fromkeys(ids, "everywhere")
    reach.update(dict.fromkeys(special[:hidden], "sitemap-only"))
    reach.update(dict.fromkeys(special[hidden:], "links-only"))

    english_pool = [i for i in ids if i not in (flaky_id, busy_id)]
    n_german, n_french = max(1, round(n_articles * 0.03)), max(1, round(n_articles * 0.02))
    foreign = rng.sample(english_pool, n_german + n_french)
    language = dict.fromkeys(ids, "en")
    language.update(dict.fromkeys(foreign[:n_german], "de"))
    language.update(dict.fromkeys(foreign[n_german:], "fr"))

    legacy_count = max(1, round(n_articles * 0.05))
    english_ids = [i for i in english_pool if language[i] == "en"]
    recoded = rng.sample(english_ids, 2 * legacy_count)
    encoding = dict.fromkeys(ids, "utf-8")
    encoding.update(dict.fromkeys(recoded[:legacy_count], "windows-1252"))
    encoding.update(dict.fromkeys(recoded[legacy_count:], "utf-8-undeclared"))

    templates = dict(zip(ids, _spread(rng, TEMPLATE_CYCLE, n_articles)))
    templates[flaky_id] = templates[busy_id] = "portal"
    sections = dict(zip(ids, _spread(rng, SECTIONS, n_articles)))
    # The one-time failures stay static, so a JavaScript article never also needs a retry.
    javascript = _javascript_ids(seed, js_share, templates, {flaky_id, busy_id})

    used_slugs: set[str] = set()
    articles = []
    for article_id, published in zip(ids, times):
        kind = {flaky_id: "flaky", busy_id: "busy"}.get(article_id, "dated")
        articles.append(
            _make_article(
                seed,
                article_id,
                published,
                sections[article_id],
                language[article_id],
                templates[article_id],
                encoding[article_id],
                reach[article_id],
                authors,
                used_slugs,
                kind,
                js_only=article_id in javascript,
            )
        )
    private = tuple(
        _make_article(
            seed,
            n_articles + k,
            times[n_articles + k - 1],
            SECTIONS[k % len(SECTIONS)],
            "en",
            "portal",
            "utf-8",
            "private",
            authors,
            used_slugs,
            "private",
        )
        for k in range(1, 4)
    )
    wire_pool = [a for a in articles if a.reach == "everywhere" and a.path.count("/") == 5]
    wire = tuple(WireCopy(f"/wire/{a.slug}/", a) for a in rng.sample(wire_pool, max(2, n_articles // 100)))
    model = SiteModel(
        seed=seed,
        articles=tuple(articles),
        private_articles=private,
        wire_copies=wire,
        authors=authors,
        tags=_tags(),
        flaky_path="/flaky/",
        busy_path=next(a.path for a in articles if a.article_id == busy_id),
        used_slugs=frozenset(used_slugs),
        next_id=n_articles + len(private) + 1,
    )
    _index(model, rng)
    model.sitemap_slots = {a.article_id: slot for slot, a in enumerate(model.sitemap_articles)}
    return model


def index_model(model: SiteModel, rng: random.Random) -> None:
    """Fill the model's lookup tables and listings from its articles (``most_read`` from ``rng``)."""
    _index(model, rng)


def _index(model: SiteModel, rng: random.Random) -> None:
    model.by_id = {a.article_id: a for a in model.articles}
    model.by_path = {a.path: a for a in model.articles}
    model.amp_by_path = {a.amp_path: a for a in model.articles if a.amp_path}
    newest_first = model.articles[::-1]
    model.listed_newest = tuple(a for a in newest_first if a.listed)
    model.feed_articles = tuple(a for a in newest_first if a.reach == "everywhere")[:FEED_ITEMS]
    model.sitemap_articles = tuple(a for a in model.articles if a.in_sitemaps)
    model.section_listed_newest = {
        slug: tuple(a for a in model.listed_newest if a.section[0] == slug) for slug, _ in SECTIONS
    }
    model.most_read = tuple(rng.sample(model.listed_newest[:60], 5))


CORRECTION_NOTES = {
    "en": "Correction: An earlier version of this article misstated {detail}. This has been corrected.",
    "de": "Korrektur: In einer früheren Version dieses Artikels war ein Datum falsch angegeben. Wir haben den Fehler korrigiert.",
    "fr": "Rectificatif : une version précédente de cet article comportait une date erronée. L’erreur a été corrigée.",
}
CORRECTION_DETAILS = (
    "the date of the next council meeting",
    "the number of people affected",
    "the name of the harbour authority’s spokesperson",
    "the cost of the project",
)


def article_paragraphs(article: Article) -> list[str]:
    rng = random.Random(article.seed_text + ":body")
    typographic = article.encoding != "utf-8"
    paragraphs = prose.body_paragraphs(rng, article.language, article.section[0], typographic)
    for kind, epoch in article.edits:
        edit_rng = random.Random(f"{article.seed_text}:edit:{epoch}")
        if kind == "body":
            # One paragraph rewritten: new facts, same length range, never the old text.
            index = edit_rng.randrange(len(paragraphs))
            templates = prose.sentence_templates(article.language)
            new = paragraphs[index]
            while new in paragraphs:
                new = prose.paragraph(edit_rng, article.language, article.section[0], templates)
            paragraphs[index] = new
        elif kind == "correction":
            note = CORRECTION_NOTES.get(article.language, CORRECTION_NOTES["en"])
            paragraphs.append(note.format(detail=edit_rng.choice(CORRECTION_DETAILS)))
    return paragraphs


def section_pages(model: SiteModel, section_slug: str) -> list[tuple[Article, ...]]:
    listed = model.section_listed_newest[section_slug]
    return [listed[i : i + TEASERS_PER_PAGE] for i in range(0, len(listed), TEASERS_PER_PAGE)] or [()]


def section_page_path(section_slug: str, page: int) -> str:
    return f"/section/{section_slug}/" if page == 1 else f"/section/{section_slug}/page/{page}/"


def related_articles(model: SiteModel, article: Article, count: int = 3) -> list[Article]:
    """The nearest listed articles of the same section, by publication order."""
    same_section = model.section_listed_newest[article.section[0]][::-1]  # oldest first
    ids = [a.article_id for a in same_section]
    position = bisect.bisect_left(ids, article.article_id)
    around = same_section[max(0, position - count) : position + count + 1]
    nearest = sorted(
        (a for a in around if a.article_id != article.article_id),
        key=lambda a: (abs(a.article_id - article.article_id), a.article_id),
    )
    return nearest[:count]


def neighbours(model: SiteModel, article: Article) -> tuple[Article | None, Article | None]:
    """(previous, next) listed article in publication order, for WordPress post navigation."""
    oldest_first = model.listed_newest[::-1]
    ids = [a.article_id for a in oldest_first]
    position = bisect.bisect_left(ids, article.article_id)
    previous = oldest_first[position - 1] if position > 0 else None
    after = position + 1 if position < len(ids) and ids[position] == article.article_id else position
    following = oldest_first[after] if after < len(oldest_first) else None
    return previous, following


def tag_articles(model: SiteModel, tag_slug: str) -> tuple[Article, ...]:
    return tuple(a for a in model.listed_newest if any(t.slug == tag_slug for t in a.tags))[:LISTING_TEASERS]


def author_articles(model: SiteModel, author_slug: str) -> tuple[Article, ...]:
    return tuple(a for a in model.listed_newest if any(w.slug == author_slug for w in a.authors))[:LISTING_TEASERS]


# --- Link decoration: the single place that decides which links carry tracking junk. ---------


def home_link(article: Article, position: int) -> str:
    if position % 4 == 1:
        return article.path + "?utm_source=homepage&utm_medium=teaser&utm_campaign=frontpage"
    return article.path


def home_comments_link(article: Article, position: int) -> str | None:
    """Some home teasers of WordPress posts also link straight to the comments."""
    return article.path + "#comments" if article.template == "wordpress" and position % 3 == 2 else None


def most_read_link(article: Article, position: int) -> str:
    suffixes = (
        f"?fbclid=IwAR0x{article.article_id:04d}Kq8vZ3mWn",
        f"?gclid=Cj0KCQjw{article.article_id:04d}BhB",
        "?utm_source=facebook&utm_medium=social",
    )
    return article.path + (suffixes[position] if position < len(suffixes) else "")


def feed_link(article: Article, position: int) -> str:
    return article.path + ("?utm_source=rss&utm_medium=feed" if position % 3 == 0 else "")


def related_link(article: Article) -> str:
    return article.path + "?utm_source=related&utm_medium=internal"


def wordpress_self_links(article: Article) -> list[str]:
    """Links a WordPress post page makes to itself: share buttons, comment anchors, reply links."""
    links = [
        article.path + "?share=twitter",
        article.path + "?share=facebook",
        article.path + "#comments",
        article.path + "#respond",
        f"/?p={article.article_id}",
    ]
    for comment in article.comments:
        links.append(f"{article.path}#comment-{comment.comment_id}")
        links.append(f"{article.path}?replytocom={comment.comment_id}#respond")
    return links


def alias_paths(model: SiteModel, chrome: dict[int, SiteModel] | None = None) -> dict[str, str]:
    """Every linked path (with query/fragment) that shows an article under a non-canonical URL.

    ``chrome`` maps an epoch to its model: an article page's related links come from the model of
    the epoch it was born in (it is never re-rendered for other articles' sake).
    """
    chrome = chrome or {model.epoch: model}
    aliases: dict[str, str] = {}
    for position, article in enumerate(model.listed_newest[:HOME_TEASERS]):
        aliases[home_link(article, position)] = article.path
        comments_link = home_comments_link(article, position)
        if comments_link:
            aliases[comments_link] = article.path
    for position, article in enumerate(model.most_read):
        aliases[most_read_link(article, position)] = article.path
    for position, article in enumerate(model.feed_articles):
        aliases[feed_link(article, position)] = article.path
    for article in model.articles:
        if article.amp_path:
            aliases[article.amp_path] = article.path
        if article.template == "wordpress":
            for link in wordpress_self_links(article):
                aliases[link] = article.path
        if article.template != "minimal":
            for related in related_articles(chrome.get(article.born_epoch, model), article):
                aliases[related_link(related)] = related.path
    for copy in model.wire_copies:
        aliases[copy.path] = copy.original.path
        for related in related_articles(chrome.get(copy.original.born_epoch, model), copy.original):
            aliases[related_link(related)] = related.path
    # A crawler drops fragments before fetching, so "?replytocom=N#respond" is also met as "?replytocom=N".
    for alias, path in list(aliases.items()):
        aliases.setdefault(alias.split("#", 1)[0], path)
    return {alias: path for alias, path in aliases.items() if alias != path and path in model.by_path}
