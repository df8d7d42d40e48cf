"""Article or not: decide from the fields :func:`crawler.extraction.extract.extract_page` returns.

Two modes, chosen by the source configuration:

* ``article_patterns`` given (the source lists URL regexes of its article pages): the user's
  override. A page is an article iff its URL matches one of them and it has real text (not an app
  shell or placeholder).
* no patterns: the page's signals are weighed together, the way news-please/fundus-style crawlers
  judge real news sites, instead of letting any single one veto. First the hard gates, which decide
  alone: no text (or less than ``min_text_chars``), a JavaScript app shell, a placeholder page, a
  failed extraction. Then every signal adds a named, weighted piece of evidence (:data:`SIGNAL_WEIGHTS`,
  documented in docs/schema.md): the page's own JSON-LD article entity (+), several of them (a
  listing, −), a non-article JSON-LD page type (−), og:type article (+) or website (weak −), a dated
  URL or an article slug/id (+; neither, −), a byline (+), a publication date (+), the text's length and
  paragraphs (scaled, − when short), link density (−), ``<article>`` teasers (−; not counted behind
  the page's own JSON-LD article, half beside an article's URL with og:type article or a byline:
  related-story blocks around an article do not make it a listing), URL
  hints of never-article pages (privacy, login, search… strongly −) and of index pages (tag, author,
  section… −), ``noindex`` on a page that does not declare itself an article (weak −), no title (−).
  The page is an article when the sum reaches :data:`ARTICLE_THRESHOLD`.

``min_text_chars`` (the ``EXTRACT_MIN_TEXT_CHARS`` setting, passed in by pipelines/extract.py) is
"enough text": a page with less text is "no article text", in both modes.

Every verdict carries a short human reason naming its strongest evidence, every piece of evidence
used (``Verdict.evidence``: signal, weight, detail; stored in ``fetches.evidence``), and for a
rejection its machine-readable kind (``archive.models.ReasonKind``), taken from the strongest
negative evidence; the archive stores it beside the reason and counts and health rules use it. The
rejection reasons keep the wordings older versions wrote ("listing page: …", "JSON-LD X: not an
article page", "URL looks like a …"), which archive/migrations.py reads to backfill old rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from archive.models import ReasonKind
from crawler.extraction.jsonld import ARTICLE_JSONLD_TYPES

# --- page types -----------------------------------------------------------------------------------

NON_ARTICLE_JSONLD_TYPES = frozenset(
    {"CollectionPage", "ProfilePage", "AboutPage", "ContactPage", "SearchResultsPage", "CheckoutPage"}
)
HOME_PAGE_JSONLD_TYPES = frozenset({"WebSite", "Organization", "SearchAction"})
# og:type website is weak evidence: real articles sometimes say website (a CMS default).
WEAK_NON_ARTICLE_OG_TYPES = frozenset({"website"})
NON_ARTICLE_OG_TYPES = frozenset({"profile", "book", "music.song", "video.other", "product"})

# --- the decision ---------------------------------------------------------------------------------

# Weighed evidence at or above this makes an article.
ARTICLE_THRESHOLD = 2.0
# Hard gates and the user's patterns decide alone; recorded with this weight.
DECISIVE = 100.0

W_JSONLD_MAIN_ARTICLE = 4.0
W_JSONLD_LISTING = -6.0
W_JSONLD_PAGE_TYPE = -6.0
W_JSONLD_WEBSITE_ONLY = -4.0
W_OG_ARTICLE = 2.0
W_OG_WEBSITE = -1.0
W_OG_OTHER = -3.0
W_DATED_URL = 1.0
W_ARTICLE_SLUG = 1.0
W_NO_ARTICLE_URL = -1.0
W_NEVER_ARTICLE_URL = -10.0
W_INDEX_URL = -6.0
W_BYLINE = 1.0
W_PUBLISHED_DATE = 1.0
W_LONG_TEXT = 2.0
W_SOME_TEXT = 1.0
W_SHORT_DECLARED_TEXT = 0.0
W_SHORT_UNDECLARED_TEXT = -3.0
W_PARAGRAPHS = 1.0
W_ONE_LONG_BLOCK = -1.0
W_FEW_PARAGRAPHS = -2.0
W_MOSTLY_LINKS = -3.0
W_MANY_LINKS = -1.0
W_TEASERS_DECLARED = 0.0
W_MANY_TEASERS = -4.0
W_SOME_TEASERS = -3.0
W_TWO_TEASERS_UNDECLARED = -2.0
# Teasers around a page whose URL looks like an article's and that says og:type article or names its
# authors are mostly related stories: they count half. og:type article alone does not discount them
# (a site-wide default on many CMSs: Yoast gives it to tag pages too). A JSON-LD article entity of the
# page itself discounts them fully.
RELATED_TEASER_FACTOR = 0.5
W_NOINDEX = -1.0
W_NO_TITLE = -3.0

# --- thresholds -----------------------------------------------------------------------------------

MIN_PARAGRAPHS = 3
# A text block counts as a paragraph with this many words, or this many CJK characters.
PARAGRAPH_WORDS = 20
PARAGRAPH_CJK_CHARS = 60
# CJK characters carry about three Latin characters' worth of text each.
CJK_CHAR_WEIGHT = 3
CJK_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
LONG_TEXT_CHARS = 1500
# Pages that do not declare themselves articles (no og:type article, no JSON-LD article) must show
# more of an article's shape: a short section front with two teasers otherwise passes as a news brief.
UNMARKED_MIN_TEXT_CHARS = 400
MAX_LINK_DENSITY = 0.5
MANY_LINKS_DENSITY = 0.3
LISTING_MIN_TEASERS = 3
LISTING_LINK_DENSITY = 0.15
LISTING_ALWAYS_TEASERS = 6
UNMARKED_LISTING_TEASERS = 2
UNMARKED_LISTING_LINK_DENSITY = 0.2
ARTICLE_SLUG_WORDS = 4
ARTICLE_ID_DIGITS = 5

# --- URLs -----------------------------------------------------------------------------------------

# Never articles, whatever the page says of itself.
NEVER_ARTICLE_URL_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/(index\.(html?|php))?$"), "home page"),
    (re.compile(r"/(about|about-us|ueber-uns|impressum|imprint)/?$", re.I), "/about page"),
    (re.compile(r"/(login|log-in|signin|sign-in|register|signup|sign-up|anmelden|account)/?$", re.I), "login page"),
    (re.compile(r"/(contact|contact-us|kontakt)/?$", re.I), "contact page"),
    (
        re.compile(
            r"/(privacy|privacy-policy|privacy-notice|datenschutz|datenschutzerklaerung|terms|terms-of-use|"
            r"terms-of-service|terms-and-conditions|agb|nutzungsbedingungen|cookies?|cookie-policy|legal|"
            r"disclaimer|politica-de-privacidad|confidentialite|mentions-legales)(\.html?)?/?$",
            re.I,
        ),
        "legal page",
    ),
    (re.compile(r"/(search|suche)(/|$)", re.I), "search page"),
)
# Index pages: a name that also occurs in some sites' article paths (/people/2024/…), so an
# article's own strong evidence can outweigh it.
INDEX_URL_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"/(tag|tags|topic|topics|schlagwort|thema)/", re.I), "tag page"),
    (re.compile(r"/(category|categories|rubrik|kategorie)/", re.I), "category page"),
    (re.compile(r"/(author|authors|autor|autoren|people|profile)/", re.I), "author page"),
    (re.compile(r"/section/", re.I), "section page"),
    (re.compile(r"/page/\d+/?$", re.I), "pagination page"),
)
SEARCH_QUERY = re.compile(r"(^|&)(s|q|query|search)=")
# A date inside one path segment: 2024-05-12, 20240512 (story-20240512.html, /20240512/).
COMPACT_DATE = re.compile(r"(^|[/_.-])(19|20)\d\d-?(0[1-9]|1[0-2])-?[0-3]\d([/_.-]|$)")
DATED_URL_PATTERNS = (
    re.compile(r"/(19|20)\d\d/(0?[1-9]|1[0-2])/([0-2]?\d|3[01])(/|$)"),  # /2024/05/12/
    re.compile(r"/(19|20)\d\d/(0[1-9]|1[0-2])[0-3]\d(/|$)"),  # /2024/0512/
    re.compile(r"/(19|20)\d\d/(0?[1-9]|1[0-2])(/|$)"),  # /2024/05/
    COMPACT_DATE,
)
SLUG_SEPARATORS = re.compile(r"[-_+]+")
ARTICLE_ID = re.compile(rf"\d{{{ARTICLE_ID_DIGITS},}}")
# An opaque id as a whole segment (AST1F4445T1FUTIL02SM.html, c4ng8g4pzv0o): letters and 4+ digits.
OPAQUE_ID = re.compile(r"^(?=(?:[a-z]*\d){4})(?=.*[a-z])[a-z\d]{10,}$", re.I)
LETTER = re.compile(r"[^\W\d_]")
FILE_EXTENSION = re.compile(r"\.(s?html?|php|aspx?|jsp|cms)$", re.I)

# Every signal the weighing may record, with the weights it can carry (docs/schema.md lists them).
SIGNAL_WEIGHTS: dict[str, tuple[float, ...]] = {
    "no_text": (-DECISIVE,),
    "javascript_shell": (-DECISIVE,),
    "placeholder": (-DECISIVE,),
    "extraction_failed": (-DECISIVE,),
    "article_pattern": (DECISIVE, -DECISIVE),
    "jsonld_main_article": (W_JSONLD_MAIN_ARTICLE,),
    "jsonld_listing": (W_JSONLD_LISTING,),
    "jsonld_page_type": (W_JSONLD_PAGE_TYPE,),
    "jsonld_website_only": (W_JSONLD_WEBSITE_ONLY,),
    "og_type": (W_OG_ARTICLE, W_OG_WEBSITE, W_OG_OTHER),
    "dated_url": (W_DATED_URL,),
    "article_slug": (W_ARTICLE_SLUG, W_NO_ARTICLE_URL),
    "url_hint": (W_NEVER_ARTICLE_URL, W_INDEX_URL),
    "byline": (W_BYLINE,),
    "published_date": (W_PUBLISHED_DATE,),
    "text_length": (W_LONG_TEXT, W_SOME_TEXT, W_SHORT_DECLARED_TEXT, W_SHORT_UNDECLARED_TEXT),
    "paragraphs": (W_PARAGRAPHS, W_ONE_LONG_BLOCK, W_FEW_PARAGRAPHS),
    "link_density": (W_MOSTLY_LINKS, W_MANY_LINKS),
    "teasers": (
        W_TEASERS_DECLARED,
        W_MANY_TEASERS,
        W_SOME_TEASERS,
        W_TWO_TEASERS_UNDECLARED,
        W_MANY_TEASERS * RELATED_TEASER_FACTOR,
        W_SOME_TEASERS * RELATED_TEASER_FACTOR,
        W_TWO_TEASERS_UNDECLARED * RELATED_TEASER_FACTOR,
    ),
    "noindex": (W_NOINDEX,),
    "title": (W_NO_TITLE,),
}
# The rejection kind each negative signal stands for, when it is the strongest one.
SIGNAL_KINDS: dict[str, ReasonKind] = {
    "jsonld_listing": ReasonKind.LISTING,
    "teasers": ReasonKind.LISTING,
    "jsonld_page_type": ReasonKind.NOT_ARTICLE_TYPE,
    "jsonld_website_only": ReasonKind.NOT_ARTICLE_TYPE,
    "og_type": ReasonKind.NOT_ARTICLE_TYPE,
    "noindex": ReasonKind.NOT_ARTICLE_TYPE,
    "url_hint": ReasonKind.NOT_ARTICLE_URL,
    "article_slug": ReasonKind.NOT_ARTICLE_URL,
    "text_length": ReasonKind.TOO_LITTLE_TEXT,
    "paragraphs": ReasonKind.TOO_FEW_PARAGRAPHS,
    "link_density": ReasonKind.MOSTLY_LINKS,
    "title": ReasonKind.NO_TITLE,
}
# How many pieces of evidence an article's reason names.
REASON_EVIDENCE = 3


class Evidence(NamedTuple):
    """One weighed signal: its name (a key of SIGNAL_WEIGHTS), its weight (+ for an article) and what was seen."""

    signal: str
    weight: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"signal": self.signal, "weight": self.weight, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    """Whether a page is an article, and why: in words (short, for humans and logs), for a rejection
    as a kind (None for an article), and as every piece of evidence that was weighed."""

    is_article: bool
    reason: str
    kind: ReasonKind | None = None
    evidence: tuple[Evidence, ...] = ()

    @property
    def score(self) -> float:
        return sum(item.weight for item in self.evidence)

    def evidence_json(self) -> list[dict[str, Any]]:
        """The evidence as the archive stores it (``fetches.evidence``)."""
        return [item.as_dict() for item in self.evidence]


@dataclass(frozen=True)
class PageFacts:
    """The classifier's view of one extracted page."""

    url: str
    title: str
    text: str
    text_chars: int
    weighted_chars: int
    og_type: str
    jsonld_types: tuple[str, ...]
    main_articles: int
    link_density: float
    teasers: int
    paragraphs: int
    authors: tuple[str, ...]
    published_at: str | None
    noindex: bool
    article_url: bool  # a date, a headline slug or an id in the URL

    @property
    def jsonld_article(self) -> bool:
        """One JSON-LD article entity of the page itself (related stories in an ItemList do not count)."""
        return self.main_articles == 1 and any(t in ARTICLE_JSONLD_TYPES for t in self.jsonld_types)

    @property
    def declared_article(self) -> bool:
        """The page says it is an article: og:type article or one JSON-LD article entity of its own."""
        return self.og_type == "article" or self.jsonld_article


def classify_page(
    fields: dict[str, Any],
    url: str,
    article_patterns: Sequence[re.Pattern[str]] = (),
    *,
    min_text_chars: int = 200,
) -> Verdict:
    """Classify one extracted page as article or not; see the module docstring for the rules."""
    signals = fields.get("signals") or {}
    text_chars = int(signals.get("text_chars") or len(fields.get("text") or ""))
    no_text = _no_text(fields, signals, text_chars, min_text_chars)

    if article_patterns:
        matched = next((p for p in article_patterns if p.search(url)), None)
        if matched is None:
            return Verdict(
                False,
                "URL matches none of the source's article patterns",
                ReasonKind.OUTSIDE_ARTICLE_PATTERNS,
                (Evidence("article_pattern", -DECISIVE, "URL matches none of the source's article patterns"),),
            )
        if no_text:
            return Verdict(False, f"URL matches article pattern but {no_text.reason}", no_text.kind, no_text.evidence)
        detail = f"URL matches article pattern {matched.pattern!r}"
        return Verdict(True, detail, None, (Evidence("article_pattern", DECISIVE, detail),))

    if no_text:
        return no_text
    return weigh(page_facts(fields, url, text_chars))


def page_facts(fields: dict[str, Any], url: str, text_chars: int) -> PageFacts:
    """The facts the weighing reads, from the extraction's fields and signals."""
    signals = fields.get("signals") or {}
    text = str(fields.get("text") or "")
    cjk = len(CJK_CHARS.findall(text))
    return PageFacts(
        url=url,
        title=str(fields.get("title") or "").strip(),
        text=text,
        text_chars=text_chars,
        weighted_chars=text_chars + (CJK_CHAR_WEIGHT - 1) * cjk,
        og_type=str(signals.get("og_type") or "").strip().lower(),
        jsonld_types=tuple(str(t) for t in signals.get("jsonld_types") or ()),
        main_articles=int(signals.get("jsonld_main_articles") or 0),
        link_density=float(signals.get("link_density") or 0.0),
        teasers=int(signals.get("article_elements") or 0),
        paragraphs=max(int(signals.get("paragraphs") or 0), _text_paragraphs(text)),
        authors=tuple(str(a) for a in fields.get("authors") or () if str(a).strip()),
        published_at=str(fields.get("published_at") or "").strip() or None,
        noindex=bool(signals.get("noindex")),
        article_url=_dated_url_evidence(url) is not None or _article_slug_evidence(url) is not None,
    )


def weigh(page: PageFacts) -> Verdict:
    """Sum the evidence of one page with text; an article at ARTICLE_THRESHOLD or more."""
    evidence = tuple(
        item
        for item in (
            *_jsonld_evidence(page),
            _og_type_evidence(page),
            _url_hint_evidence(page.url),
            _dated_url_evidence(page.url),
            _article_slug_evidence(page.url) or _no_article_url_evidence(page),
            _byline_evidence(page),
            _published_date_evidence(page),
            _text_length_evidence(page),
            _paragraphs_evidence(page),
            _link_density_evidence(page),
            _teasers_evidence(page),
            _noindex_evidence(page),
            _title_evidence(page),
        )
        if item is not None
    )
    score = sum(item.weight for item in evidence)
    if score >= ARTICLE_THRESHOLD:
        strongest = sorted((item for item in evidence if item.weight > 0), key=lambda item: -item.weight)
        named = "; ".join(item.detail for item in strongest[:REASON_EVIDENCE])
        return Verdict(True, f"{named} (score {score:+.1f})", None, evidence)
    negatives = sorted((item for item in evidence if item.weight < 0), key=lambda item: item.weight)
    if not negatives:  # cannot happen with the weights above: a rejected page always has a negative
        return Verdict(
            False, f"too little evidence of an article (score {score:+.1f})", ReasonKind.TOO_LITTLE_TEXT, evidence
        )
    strongest_negative = negatives[0]
    return Verdict(
        False,
        f"{strongest_negative.detail} (score {score:+.1f})",
        SIGNAL_KINDS[strongest_negative.signal],
        evidence,
    )


def looks_like_javascript_shell(fields: dict[str, Any]) -> bool:
    """The page's text comes from scripts: an empty app root, "Loading…", an "enable JavaScript" notice."""
    signals = fields.get("signals") or {}
    return bool(signals.get("app_shell") or signals.get("placeholder"))


# --- the signals ----------------------------------------------------------------------------------


def _jsonld_evidence(page: PageFacts) -> list[Evidence]:
    """The page's own JSON-LD article entity (+); several (a listing, −); a non-article page type (−)."""
    article_types = [t for t in page.jsonld_types if t in ARTICLE_JSONLD_TYPES]
    # The page's own article entities count; an ItemList of related stories or a breadcrumb does not.
    main = page.main_articles if article_types else 0
    found: list[Evidence] = []
    if main == 1:
        found.append(Evidence("jsonld_main_article", W_JSONLD_MAIN_ARTICLE, f"JSON-LD {article_types[0]} of the page"))
    elif main >= 2 or (main == 0 and len(article_types) >= 2):
        count = main or len(article_types)
        found.append(Evidence("jsonld_listing", W_JSONLD_LISTING, f"listing page: JSON-LD lists {count} articles"))
    page_types = [t for t in page.jsonld_types if t in NON_ARTICLE_JSONLD_TYPES]
    if page_types:
        found.append(Evidence("jsonld_page_type", W_JSONLD_PAGE_TYPE, f"JSON-LD {page_types[0]}: not an article page"))
    elif "WebSite" in page.jsonld_types and not set(page.jsonld_types) - HOME_PAGE_JSONLD_TYPES:
        found.append(Evidence("jsonld_website_only", W_JSONLD_WEBSITE_ONLY, "JSON-LD WebSite only: a home page"))
    return found


def _og_type_evidence(page: PageFacts) -> Evidence | None:
    if page.og_type == "article":
        return Evidence("og_type", W_OG_ARTICLE, "og:type article")
    if page.og_type in WEAK_NON_ARTICLE_OG_TYPES:
        return Evidence("og_type", W_OG_WEBSITE, f"og:type {page.og_type}: not an article page")
    if page.og_type in NON_ARTICLE_OG_TYPES:
        return Evidence("og_type", W_OG_OTHER, f"og:type {page.og_type}: not an article page")
    return None


def _url_hint_evidence(url: str) -> Evidence | None:
    """A home, legal, login, search… URL (never an article) or a tag, author, section… URL (an index)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    for pattern, hint in NEVER_ARTICLE_URL_HINTS:
        if pattern.search(path):
            return Evidence(
                "url_hint", W_NEVER_ARTICLE_URL, f"URL looks like {'an' if hint[:1] in 'aeiou' else 'a'} {hint}"
            )
    if SEARCH_QUERY.search(parts.query) and path.rstrip("/") in ("", "/search"):
        return Evidence("url_hint", W_NEVER_ARTICLE_URL, "URL looks like a search page")
    for pattern, hint in INDEX_URL_HINTS:
        if pattern.search(path):
            return Evidence("url_hint", W_INDEX_URL, f"URL looks like {'an' if hint[:1] in 'aeiou' else 'a'} {hint}")
    return None


def _dated_url_evidence(url: str) -> Evidence | None:
    """A date in the path with more after it: /2024/05/12/slug, /20240512-slug; a bare /2024/06/ is
    a monthly archive page, not an article."""
    path = urlsplit(url).path
    for pattern in DATED_URL_PATTERNS:
        for match in pattern.finditer(path):
            if path[match.end() :].strip("/") or _has_more_than_date(path, match):
                return Evidence("dated_url", W_DATED_URL, f"dated URL ({match.group(0).strip('/_.-')})")
    return None


def _has_more_than_date(path: str, match: re.Match[str]) -> bool:
    """The path segment holding the date has words besides it (``story-20240512.html``)."""
    start = path.rfind("/", 0, match.start() + 1) + 1
    segment = FILE_EXTENSION.sub("", path[start:].split("/")[0])
    return bool(LETTER.search(segment))


def _article_slug_evidence(url: str) -> Evidence | None:
    """The last path segment is a headline slug (several words) or carries a long numeric id."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if not segments:
        return None
    last = FILE_EXTENSION.sub("", segments[-1])
    words = [w for w in SLUG_SEPARATORS.split(last) if w and not w.isdigit()]
    if len(words) >= ARTICLE_SLUG_WORDS:
        return Evidence("article_slug", W_ARTICLE_SLUG, f"URL slug of {len(words)} words")
    for segment in reversed(segments):
        if ARTICLE_ID.search(segment) and not COMPACT_DATE.search(f"/{segment}/"):
            return Evidence("article_slug", W_ARTICLE_SLUG, f"URL with an article id ({segment[:40]})")
    if OPAQUE_ID.match(last):
        return Evidence("article_slug", W_ARTICLE_SLUG, f"URL with an article id ({last[:40]})")
    return None


def _no_article_url_evidence(page: PageFacts) -> Evidence | None:
    """Neither a date nor a slug nor an id in the URL: the shape of a section front (/world/)."""
    if page.article_url:
        return None
    return Evidence("article_slug", W_NO_ARTICLE_URL, "no date, headline slug or id in the URL")


def _byline_evidence(page: PageFacts) -> Evidence | None:
    if not page.authors:
        return None
    return Evidence("byline", W_BYLINE, f"byline: {', '.join(page.authors)[:80]}")


def _published_date_evidence(page: PageFacts) -> Evidence | None:
    if page.published_at is None:
        return None
    return Evidence("published_date", W_PUBLISHED_DATE, f"published {page.published_at}")


def _text_length_evidence(page: PageFacts) -> Evidence:
    chars = page.weighted_chars
    shown = f"{page.text_chars} chars" + (" (CJK counted triple)" if chars != page.text_chars else "")
    if chars >= LONG_TEXT_CHARS:
        return Evidence("text_length", W_LONG_TEXT, f"{shown} of text")
    if chars >= UNMARKED_MIN_TEXT_CHARS:
        return Evidence("text_length", W_SOME_TEXT, f"{shown} of text")
    if page.declared_article:
        return Evidence(
            "text_length", W_SHORT_DECLARED_TEXT, f"{shown} of text: short, but the page declares an article"
        )
    return Evidence(
        "text_length",
        W_SHORT_UNDECLARED_TEXT,
        f"too little text for a page without article markup ({page.text_chars} < {UNMARKED_MIN_TEXT_CHARS} chars)",
    )


def _paragraphs_evidence(page: PageFacts) -> Evidence:
    if page.paragraphs >= MIN_PARAGRAPHS:
        return Evidence("paragraphs", W_PARAGRAPHS, f"{page.paragraphs} paragraphs")
    if page.weighted_chars >= LONG_TEXT_CHARS:
        # Some sites (many Chinese ones) set the whole body as one block with <br> breaks.
        return Evidence(
            "paragraphs",
            W_ONE_LONG_BLOCK,
            f"too few paragraphs ({page.paragraphs} < {MIN_PARAGRAPHS}), but a long body block",
        )
    return Evidence("paragraphs", W_FEW_PARAGRAPHS, f"too few paragraphs ({page.paragraphs} < {MIN_PARAGRAPHS})")


def _link_density_evidence(page: PageFacts) -> Evidence | None:
    if page.link_density > MAX_LINK_DENSITY:
        return Evidence("link_density", W_MOSTLY_LINKS, f"mostly links (link density {page.link_density:.2f})")
    if page.link_density >= MANY_LINKS_DENSITY:
        return Evidence("link_density", W_MANY_LINKS, f"many links (link density {page.link_density:.2f})")
    return None


def _teasers_evidence(page: PageFacts) -> Evidence | None:
    """Several ``<article>`` elements: teasers of a listing, unless the page declares itself an article
    (then they are its related-story blocks: not counted behind a JSON-LD article entity of the page,
    counted half on a page with an article's URL and og:type article or a byline)."""
    teasers, density = page.teasers, page.link_density
    described = f"{teasers} <article> teasers, link density {density:.2f}"
    if teasers >= LISTING_ALWAYS_TEASERS:
        weight = W_MANY_TEASERS
    elif teasers >= LISTING_MIN_TEASERS and density >= LISTING_LINK_DENSITY:
        weight = W_SOME_TEASERS
    elif teasers >= UNMARKED_LISTING_TEASERS and density >= UNMARKED_LISTING_LINK_DENSITY and not page.declared_article:
        weight = W_TWO_TEASERS_UNDECLARED
    else:
        return None
    if page.jsonld_article:
        return Evidence("teasers", W_TEASERS_DECLARED, f"{described}: related stories of a JSON-LD article")
    if page.article_url and (page.og_type == "article" or page.authors):
        return Evidence(
            "teasers",
            weight * RELATED_TEASER_FACTOR,
            f"listing page: {described} (counted half: the URL and markup of an article)",
        )
    return Evidence("teasers", weight, f"listing page: {described}")


def _noindex_evidence(page: PageFacts) -> Evidence | None:
    """robots noindex: weak, and only on a page that does not declare itself an article (paywalled,
    syndicated or old articles are often noindex; tag, search and login pages more often)."""
    if not page.noindex or page.declared_article:
        return None
    return Evidence("noindex", W_NOINDEX, "robots noindex on a page without article markup")


def _title_evidence(page: PageFacts) -> Evidence | None:
    return None if page.title else Evidence("title", W_NO_TITLE, "no title")


def _text_paragraphs(text: str) -> int:
    """Blocks of the extracted text long enough to be paragraphs (in words, or CJK characters)."""
    count = 0
    for block in text.split("\n"):
        if len(block.split()) >= PARAGRAPH_WORDS or len(CJK_CHARS.findall(block)) >= PARAGRAPH_CJK_CHARS:
            count += 1
    return count


def _no_text(fields: dict[str, Any], signals: dict[str, Any], text_chars: int, min_chars: int) -> Verdict | None:
    """The rejection of a page with no article text to extract, or None when it has some."""
    if signals.get("app_shell"):
        return _gate("javascript_shell", "no article text (JavaScript app shell)", ReasonKind.JAVASCRIPT_SHELL)
    if signals.get("placeholder"):
        return _gate("placeholder", "no article text (placeholder page)", ReasonKind.PLACEHOLDER)
    if text_chars == 0:
        if fields.get("error"):
            return _gate(
                "extraction_failed",
                f"no article text (extraction failed: {fields['error']})",
                ReasonKind.EXTRACTION_FAILED,
            )
        return _gate("no_text", "no article text", ReasonKind.NO_TEXT)
    if text_chars < min_chars:
        return _gate(
            "no_text", f"no article text (too little text: {text_chars} < {min_chars} chars)", ReasonKind.NO_TEXT
        )
    return None


def _gate(signal: str, reason: str, kind: ReasonKind) -> Verdict:
    return Verdict(False, reason, kind, (Evidence(signal, -DECISIVE, reason),))
