"""A deterministic, generated news website for end-to-end crawler tests.

``NewsSite(n_articles, seed)`` is a pure model of a regional newspaper's site: articles in three
CMS templates (WordPress, news portal, minimal), listings, feeds, sitemaps, robots.txt, and the
traps real sites have (tracking-parameter duplicates, AMP copies, shortlinks, syndicated copies,
an endless calendar, legacy encodings, one-time 503/429 answers, redirect loops, app shells).
``NewsSite(n, seed, js_share=0.12)`` serves that share of the articles (chosen from the seed, spread
over the templates) as JavaScript-only pages: the same head (title, og tags, JSON-LD), no article
text in the HTML, an empty container filled by an inline script from a
``<script type="application/json">`` block, no AMP copy; ``site.js_article_urls(base)`` lists them
(they stay in ``expected_articles``). The default 0.0 serves every page as before, byte for byte.
``serve_site(site)`` serves it on 127.0.0.1 with ``crawler.demo.server``. The site tells tests what a
correct crawl must archive (``expected_articles``) and what it must not (``non_article_urls``,
``alias_urls``, ``disallowed_prefixes``).

Epochs (recurring crawls)
    ``site.advance()`` moves a site, even while it is served, to "one week later": 5 % of the
    articles edited (``body``, ``correction``, ``headline``: new ``dateModified``,
    ``article:modified_time``, sitemap ``<lastmod>``, ``Last-Modified``), 1 % touched in markup
    only (``markup``: other bytes, same fields), 2 % removed (404, 410 or a 301 to the home page),
    10 % new articles; at epoch 1 one article turns volatile (a nonce and a timestamp in its HTML on
    every fetch, the same text). Every other article page stays byte-identical. The return value,
    also ``site.changes(epoch)``, says what changed as data::

        site = NewsSite(400, seed=1)
        with serve_site(site) as local:
            crawl(local.base_url)
            changes = site.advance(at=datetime.now(UTC))  # real clock: lastmod newer than the crawl
            crawl(local.base_url)
            changes.edited_ids(EditKind.CORRECTION), changes.removals, changes.added, changes.unchanged
            [e.change_kinds for e in changes.edits]  # the issue's vocabulary: headline, body, dates, ...

    ``NewsSite(n, seed, epoch=2)`` builds the same site as two ``advance()`` calls; without ``at``
    epochs are one week apart from ``EPOCH0_TIME`` (2024), so they stay deterministic.
    ``expected_articles`` and ``alias_urls`` describe the current epoch; ``removed_urls`` the
    articles taken down so far.

Validators
    Every 200 answer carries a strong ``ETag`` (a hash of the body sent) and ``Last-Modified``
    (the article's modified or published time; for any other page the time of the epoch in which its
    bytes last changed). ``If-None-Match`` that matches, or (without ``If-None-Match``) an
    ``If-Modified-Since`` not older than Last-Modified, gets ``304`` with no body. Errors and
    redirects carry no validators. ``NewsSite(..., misbehaviour=Misbehaviour(...))`` breaks them on
    purpose: ``wrong_etag``, ``future_last_modified``, ``unconditional_304`` (paths), and
    ``sitemap_lastmod`` (``LastmodStyle``: date-only, malformed, future, mixed). The sitemap index
    gives each sub-sitemap a ``<lastmod>`` (its Last-Modified); article sitemaps one per URL.

Request counters
    ``serve_site`` yields a ``ServedSite``: ``base_url``, ``hits`` and ``paths()`` as before, plus
    ``log``, a ``RequestLog`` of every answer (path, method, conditional headers, status, body bytes
    sent, epoch)::

        mark = local.log.mark()
        crawl(local.base_url)
        counts = local.log.counts(since=mark)  # requests, conditional, not_modified, bytes_sent, statuses
"""

from tests.newssite.epochs import Edit, EditKind, EpochChanges, Removal, RemovalKind
from tests.newssite.feeds import FUTURE_TIME, MALFORMED_LASTMODS, LastmodStyle
from tests.newssite.model import EPOCH0_TIME
from tests.newssite.site import (
    ExpectedArticle,
    Misbehaviour,
    NewsSite,
    RequestCounts,
    RequestLog,
    RequestRecord,
    ServedSite,
    serve_site,
)

__all__ = [
    "EPOCH0_TIME",
    "FUTURE_TIME",
    "MALFORMED_LASTMODS",
    "Edit",
    "EditKind",
    "EpochChanges",
    "ExpectedArticle",
    "LastmodStyle",
    "Misbehaviour",
    "NewsSite",
    "Removal",
    "RemovalKind",
    "RequestCounts",
    "RequestLog",
    "RequestRecord",
    "ServedSite",
    "serve_site",
]
