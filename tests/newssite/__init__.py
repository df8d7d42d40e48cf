"""A deterministic, generated news website for end-to-end crawler tests.

``NewsSite(n_articles, seed)`` is a pure model of a regional newspaper's site: articles in three
CMS templates (WordPress, news portal, minimal), listings, feeds, sitemaps, robots.txt, and the
traps real sites have (tracking-parameter duplicates, AMP copies, shortlinks, syndicated copies,
an endless calendar, legacy encodings, one-time 503/429 answers, redirect loops, app shells).
``serve_site(site)`` serves it on 127.0.0.1 with ``crawler.demo.server``. The site tells tests what a
correct crawl must archive (``expected_articles``) and what it must not (``non_article_urls``,
``alias_urls``, ``disallowed_prefixes``).
"""

from tests.newssite.site import ExpectedArticle, NewsSite, serve_site

__all__ = ["ExpectedArticle", "NewsSite", "serve_site"]
