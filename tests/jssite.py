"""A fixture news site whose article bodies, on most pages, exist only after JavaScript runs.

``js_site_app(n_static, n_json, n_write, n_dom)`` is an app for :func:`crawler.demo.server.serve`:

- ``/``: the home page, linking every article;
- ``/static/{n}/``: ordinary articles, the full text in the HTML;
- ``/json/{n}/``: an empty ``<div id="app">`` filled by a script from a ``<script type="application/json">`` block;
- ``/write/{n}/``: the text written by ``document.write`` in an inline script;
- ``/dom/{n}/``: the text added with createElement/appendChild after DOMContentLoaded;
- ``/late/{n}/`` (none unless asked for): the text fetched from ``/late/{n}/text.json`` a moment
  (``LATE_DELAY_MS``) after the page's load event, as pages that call an API do.

Every article page has a title, byline, ``og:type`` article, 4 to 6 paragraphs of 40+ words of
its own prose, an image and a web font (both served here, under ``/assets/``, so a crawl that
aborts them can be seen not to fetch them). JavaScript pages say "Loading…" and
``<noscript>Please enable JavaScript</noscript>`` until their script runs. robots.txt allows all.
:func:`expected_js_articles` and :func:`static_article_urls` tell tests what a crawl should find.
"""

from __future__ import annotations

import base64
import html
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from crawler.demo.server import Reply, Request
from tests.newssite import prose

SITE_NAME = "The Lantern Post"
JS_KINDS = ("json", "write", "dom", "late")
LATE_DELAY_MS = 300  # a "late" page asks for its text this long after its load event
ARTICLE_KINDS = ("static", *JS_KINDS)
SECTIONS = ("politics", "business", "science", "culture", "sport")
MIN_WORDS_PER_PARAGRAPH = 40
FONT_PATH = "/assets/lantern-serif.woff2"
NOSCRIPT_TEXT = "Please enable JavaScript"
LOADING_TEXT = "Loading…"
FIRST_PUBLISHED = datetime(2025, 5, 2, 7, 30, tzinfo=UTC)
# A valid 1x1 JPEG: the browser really decodes what it fetches.
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////"
    "////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA="
)
# Not a real font: the browser requests it all the same (and falls back to serif), which is what
# the abort rules are about.
FONT_BYTES = b"wOF2" + bytes(60)


@dataclass(frozen=True)
class JsArticle:
    kind: str  # one of ARTICLE_KINDS
    number: int

    @property
    def path(self) -> str:
        return f"/{self.kind}/{self.number}/"

    @property
    def image_path(self) -> str:
        return f"/assets/photos/{self.kind}-{self.number}.jpg"

    @property
    def _rng_seed(self) -> str:
        return f"jssite:{self.kind}:{self.number}"

    @property
    def section(self) -> str:
        return SECTIONS[(ARTICLE_KINDS.index(self.kind) + self.number) % len(SECTIONS)]

    @property
    def title(self) -> str:
        rng = random.Random(self._rng_seed + ":title")
        return prose.capitalize_first(prose.headline(rng, "en", self.section))

    @property
    def author(self) -> str:
        return prose.person_name(random.Random(self._rng_seed + ":author"))

    @property
    def published(self) -> datetime:
        offset = ARTICLE_KINDS.index(self.kind) * 97 + self.number * 5
        return FIRST_PUBLISHED - timedelta(hours=offset)

    def paragraphs(self) -> list[str]:
        """4 to 6 paragraphs of at least 40 words, different from every other article's."""
        rng = random.Random(self._rng_seed + ":body")
        templates = tuple(rng.sample(prose.ENGLISH_SENTENCES, 12))
        paragraphs: list[str] = []
        for _ in range(rng.randrange(4, 7)):
            text = prose.paragraph(rng, "en", self.section, templates)
            while len(text.split()) < MIN_WORDS_PER_PARAGRAPH or text in paragraphs:
                text = prose.paragraph(rng, "en", self.section, templates)
            paragraphs.append(text)
        return paragraphs


def _articles(counts: dict[str, int]) -> list[JsArticle]:
    return [JsArticle(kind, number) for kind in ARTICLE_KINDS for number in range(1, counts[kind] + 1)]


def _script_literal(value: object) -> str:
    """``value`` as JSON safe to put inside a <script> element (no "</script>" can end it early)."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def _page(title: str, head_extra: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
{head_extra}
<style>
@font-face {{ font-family: "Lantern Serif"; src: url("{FONT_PATH}") format("woff2"); }}
body {{ font-family: "Lantern Serif", Georgia, serif; max-width: 46rem; margin: 0 auto; }}
.loading {{ color: #777; }}
</style>
</head>
<body>
<header class="site-header">
  <a class="logo" href="/">{SITE_NAME}</a>
  <nav><a href="/">Home</a> <a href="/#politics">Politics</a> <a href="/#business">Business</a>
  <a href="/#science">Science</a> <a href="/#culture">Culture</a> <a href="/#sport">Sport</a></nav>
</header>
{body}
<footer class="site-footer">
  <p>© 2025 {SITE_NAME}. All rights reserved. <a href="/">Contact the newsroom</a></p>
</footer>
</body>
</html>
"""


def _article_head(article: JsArticle, base: str) -> str:
    description = html.escape(article.paragraphs()[0].split(". ")[0] + ".")
    return f"""<link rel="canonical" href="{base}{article.path}">
<meta name="description" content="{description}">
<meta name="author" content="{html.escape(article.author)}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{SITE_NAME}">
<meta property="og:title" content="{html.escape(article.title)}">
<meta property="og:url" content="{base}{article.path}">
<meta property="og:image" content="{base}{article.image_path}">
<meta property="article:published_time" content="{article.published.isoformat()}">
<meta property="article:section" content="{article.section.title()}">"""


def _article_body(article: JsArticle) -> str:
    """The text part of the article, in the form its kind serves it."""
    paragraphs = article.paragraphs()
    waiting = f'<noscript>{NOSCRIPT_TEXT}</noscript>\n<p class="loading" id="loading">{LOADING_TEXT}</p>'
    hide_loading = "document.getElementById('loading').remove();"
    if article.kind == "static":
        return "\n".join(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    if article.kind == "json":
        return f"""{waiting}
<div id="app"></div>
<script type="application/json" id="data">{_script_literal({"paragraphs": paragraphs})}</script>
<script>
(function () {{
  var data = JSON.parse(document.getElementById("data").textContent);
  var html = data.paragraphs.map(function (text) {{
    var p = document.createElement("p");
    p.textContent = text;
    return p.outerHTML;
  }}).join("");
  document.getElementById("app").innerHTML = html;
  {hide_loading}
}})();
</script>"""
    if article.kind == "write":
        return f"""{waiting}
<script>
var paragraphs = {_script_literal(paragraphs)};
for (var i = 0; i < paragraphs.length; i++) {{
  var p = document.createElement("p");
  p.textContent = paragraphs[i];
  document.write(p.outerHTML);
}}
{hide_loading}
</script>"""
    if article.kind == "late":
        return f"""{waiting}
<div id="story"></div>
<script>
window.addEventListener("load", function () {{
  setTimeout(function () {{
    fetch("{article.path}text.json").then(function (r) {{ return r.json(); }}).then(function (data) {{
      var story = document.getElementById("story");
      data.paragraphs.forEach(function (text) {{
        var p = document.createElement("p");
        p.textContent = text;
        story.appendChild(p);
      }});
      {hide_loading}
    }});
  }}, {LATE_DELAY_MS});
}});
</script>"""
    return f"""{waiting}
<div id="story"></div>
<script>
document.addEventListener("DOMContentLoaded", function () {{
  var story = document.getElementById("story");
  {_script_literal(paragraphs)}.forEach(function (text) {{
    var p = document.createElement("p");
    p.appendChild(document.createTextNode(text));
    story.appendChild(p);
  }});
  {hide_loading}
}});
</script>"""


def _article_page(article: JsArticle, base: str) -> str:
    body = f"""<main>
<article>
  <h1>{html.escape(article.title)}</h1>
  <p class="byline">By <span class="author">{html.escape(article.author)}</span>,
  <time datetime="{article.published.isoformat()}">{article.published:%d %B %Y}</time></p>
  <figure><img src="{article.image_path}" alt="{html.escape(article.title)}" width="640" height="360">
  <figcaption>Photo: {SITE_NAME}</figcaption></figure>
  <div class="article-body">
{_article_body(article)}
  </div>
</article>
</main>"""
    return _page(f"{article.title} | {SITE_NAME}", _article_head(article, base), body)


def _home_page(articles: list[JsArticle]) -> str:
    by_section: dict[str, list[JsArticle]] = {section: [] for section in SECTIONS}
    for article in articles:
        by_section[article.section].append(article)
    sections = "\n".join(
        f'<section id="{section}"><h2>{section.title()}</h2><ul>'
        + "".join(f'<li><a href="{a.path}">{html.escape(a.title)}</a></li>' for a in listed)
        + "</ul></section>"
        for section, listed in by_section.items()
        if listed
    )
    head = f'<meta property="og:type" content="website">\n<meta property="og:site_name" content="{SITE_NAME}">'
    return _page(f"{SITE_NAME}: latest news", head, f"<main><h1>Latest news</h1>\n{sections}\n</main>")


def js_site_app(
    n_static: int = 3, n_json: int = 3, n_write: int = 3, n_dom: int = 3, n_late: int = 0
) -> Callable[[Request], Reply]:
    """The site as an app for ``crawler.demo.server.serve``, with this many articles of each kind."""
    counts = {"static": n_static, "json": n_json, "write": n_write, "dom": n_dom, "late": n_late}
    if any(count < 0 for count in counts.values()):
        raise ValueError(f"js_site_app: article counts must be >= 0, got {counts}")
    articles = _articles(counts)
    by_path = {article.path: article for article in articles}
    images = {article.image_path for article in articles}

    def app(request: Request) -> Reply:
        path = request.path.split("?", 1)[0]
        if path == "/":
            return Reply(body=_home_page(articles).encode())
        if path == "/robots.txt":
            return Reply(body=b"User-agent: *\nAllow: /\n", headers={"content-type": "text/plain"})
        if path in by_path:
            return Reply(body=_article_page(by_path[path], request.base_url).encode())
        if path.endswith("/text.json") and path[: -len("text.json")] in by_path:
            data = {"paragraphs": by_path[path[: -len("text.json")]].paragraphs()}
            return Reply(body=json.dumps(data).encode(), headers={"content-type": "application/json"})
        if path in images:
            return Reply(body=TINY_JPEG, headers={"content-type": "image/jpeg"})
        if path == FONT_PATH:
            return Reply(body=FONT_BYTES, headers={"content-type": "font/woff2"})
        return Reply(404, _page(f"Page not found | {SITE_NAME}", "", "<main><h1>Page not found</h1></main>").encode())

    return app


def expected_js_articles(
    base: str, n_json: int = 3, n_write: int = 3, n_dom: int = 3, n_late: int = 0
) -> dict[str, list[str]]:
    """URL -> paragraphs of every article whose text only JavaScript shows (``base`` without trailing /)."""
    counts = {"static": 0, "json": n_json, "write": n_write, "dom": n_dom, "late": n_late}
    return {base + article.path: article.paragraphs() for article in _articles(counts)}


def static_article_urls(base: str, n_static: int = 3) -> list[str]:
    """URLs of the articles served with their full text in the HTML."""
    return [base + JsArticle("static", number).path for number in range(1, n_static + 1)]


def asset_paths(n_static: int = 3, n_json: int = 3, n_write: int = 3, n_dom: int = 3, n_late: int = 0) -> set[str]:
    """Paths of the images and the font the pages reference (fetched only when not aborted)."""
    counts = {"static": n_static, "json": n_json, "write": n_write, "dom": n_dom, "late": n_late}
    return {FONT_PATH} | {article.image_path for article in _articles(counts)}
